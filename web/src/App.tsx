import { useEffect } from "react";
import { NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { loadAuthConfig, type AuthConfig } from "./auth/config";
import { CALLBACK_PATH, cognitoSignOutUrl } from "./auth/cognito";
import { signOut, useSession } from "./auth/session";
import { Loading } from "./components/Feedback";
import { ConversationPage, NewConversationPage } from "./pages/ConversationPage";
import { ConversationsPage } from "./pages/ConversationsPage";
import { InboxPage, useWaitingRuns } from "./pages/InboxPage";
import { RunPage } from "./pages/RunPage";
import { CallbackPage, SignInPage } from "./pages/SignInPage";
import { StatsPage } from "./pages/StatsPage";
import { EditTaskPage, NewTaskPage } from "./pages/TaskForm";
import { TaskPage } from "./pages/TaskPage";
import { TasksPage } from "./pages/TasksPage";

export function App() {
  const config = useQuery({ queryKey: ["auth-config"], queryFn: loadAuthConfig, staleTime: Infinity });
  const session = useSession();
  const location = useLocation();
  if (config.isPending) return <Loading what="agentcron" />;
  const auth: AuthConfig = config.data ?? { kind: "local" };
  if (location.pathname === CALLBACK_PATH) return <CallbackPage config={auth} />;
  if (!session) return <SignInPage config={auth} />;
  return <Shell auth={auth} user={session.user} />;
}

const TITLES: [RegExp, string][] = [
  [/^\/$/, "Tasks"],
  [/^\/tasks\/new$/, "New task"],
  [/^\/tasks\/[^/]+\/edit$/, "Edit task"],
  [/^\/tasks\//, "Task"],
  [/^\/runs\//, "Run"],
  [/^\/conversations\/?$/, "Conversations"],
  [/^\/conversations\/new$/, "New conversation"],
  [/^\/conversations\//, "Conversation"],
  [/^\/questions/, "Questions"],
  [/^\/stats/, "Statistics"],
];

function Shell({ auth, user }: { auth: AuthConfig; user: string }) {
  const waiting = useWaitingRuns();
  const client = useQueryClient();
  const location = useLocation();
  const navigate = useNavigate();
  const count = waiting.data?.items.length ?? 0;

  useEffect(() => {
    // A new page gets a title of its own and keyboard focus on its main region.
    const title = TITLES.find(([pattern]) => pattern.test(location.pathname))?.[1] ?? "agentcron";
    document.title = `${title} · agentcron`;
    document.getElementById("main")?.focus();
  }, [location.pathname]);

  function leave() {
    client.clear();
    signOut();
    navigate("/");
    if (auth.kind === "cognito") window.location.assign(cognitoSignOutUrl(auth));
  }

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand" end>
          agentcron
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Tasks
          </NavLink>
          <NavLink to="/conversations">Conversations</NavLink>
          <NavLink to="/questions">
            Questions{" "}
            <span className={count ? "count" : "count zero"} data-testid="question-count">
              {count}
            </span>
            <span className="sr-only"> waiting</span>
          </NavLink>
          <NavLink to="/stats">Statistics</NavLink>
        </nav>
        <div className="who">
          <span className="user" data-testid="user-name">
            {user}
          </span>
          <button type="button" onClick={leave}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<TasksPage />} />
          <Route path="/tasks/new" element={<NewTaskPage />} />
          <Route path="/tasks/:taskId" element={<TaskPage />} />
          <Route path="/tasks/:taskId/edit" element={<EditTaskPage />} />
          <Route path="/runs/:runId" element={<RunPage />} />
          <Route path="/conversations" element={<ConversationsPage />} />
          <Route path="/conversations/new" element={<NewConversationPage />} />
          <Route path="/conversations/:conversationId" element={<ConversationPage />} />
          <Route path="/questions" element={<InboxPage />} />
          <Route path="/stats" element={<StatsPage />} />
          <Route path="*" element={<p>There is no page here.</p>} />
        </Routes>
      </main>
    </>
  );
}
