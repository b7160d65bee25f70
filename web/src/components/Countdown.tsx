import { useEffect, useState } from "react";
import { countdown, formatTime } from "../lib/format";

/** A live "in 4 min 10 s" to `at`, ticking each second; the exact time is in the title. */
export function Countdown({ at }: { at: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <time dateTime={at} title={formatTime(at)} className="countdown">
      {countdown(at, now)}
    </time>
  );
}
