import type { Schedule } from "../api/client";
import { useSchedulePreview } from "../api/queries";

/** The schedule in words, as the API describes it (one cached preview per schedule). */
export function ScheduleText({ schedule }: { schedule: Schedule }) {
  const preview = useSchedulePreview(schedule, 1);
  return <span className="schedule-text">{preview.data?.description ?? schedule.type}</span>;
}
