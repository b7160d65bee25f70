// One conversation: the thread, the questions its runs wait on (answered with a button or in
// the message box), and the message box. Polls fast while a turn or a run is under way.
import { useRef, useState, type ReactNode } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useArchiveConversation, useConversation, useCreateConversation, useSendMessage, useThread } from "../api/conversationQueries";
import type { Conversation, Message, WaitingQuestion } from "../api/conversations";
import { useTasks } from "../api/queries";
import { Composer } from "../components/Composer";
import { ErrorNote, Loading } from "../components/Feedback";
import { Markdown } from "../components/Markdown";
import { ConversationStatusBadge } from "../components/StatusBadge";
import { Thread } from "../components/Thread";
import { pendingTurns } from "../lib/thread";

function useTaskNames(): Map<string, string> {
  const tasks = useTasks();
  return new Map((tasks.data?.items ?? []).map((task) => [task.id, task.name]));
}

export function ConversationPage() {
  const { conversationId = "" } = useParams();
  const conversation = useConversation(conversationId);
  const thread = useThread(conversationId);
  const messages = thread.data?.messages ?? [];

  if (conversation.isPending) return <Loading what="the conversation" />;
  if (conversation.isError)
    return (
      <ErrorNote error={conversation.error}>
        {" "}
        <Link to="/conversations">Back to conversations</Link>
      </ErrorNote>
    );
  return (
    <ConversationDetail
      conversation={conversation.data}
      thread={
        <>
          {thread.isPending && <Loading what="the messages" />}
          {thread.isError && <ErrorNote error={thread.error} />}
        </>
      }
      messages={messages}
    />
  );
}

function ConversationDetail({ conversation, thread, messages }: { conversation: Conversation; thread: ReactNode; messages: Message[] }) {
  const taskNames = useTaskNames();
  const send = useSendMessage(conversation.id);
  const archive = useArchiveConversation(conversation.id);
  const composer = useRef<HTMLTextAreaElement>(null);
  // With several questions waiting, the box answers the one picked (the API needs reply_to).
  const [picked, setPicked] = useState<string | null>(null);
  const waiting = conversation.waiting;
  const replyTo = waiting.length === 1 ? waiting[0]?.run_id : waiting.find((q) => q.run_id === picked)?.run_id;
  const answering = waiting.find((q) => q.run_id === replyTo);

  function answerInBox(question: WaitingQuestion) {
    setPicked(question.run_id);
    composer.current?.focus();
  }

  return (
    <article aria-labelledby="conversation-title" className="conversation">
      <p className="crumbs">
        <Link to="/conversations">Conversations</Link> › conversation
      </p>
      <div className="page-head">
        <h1 id="conversation-title">{conversation.title || "Untitled conversation"}</h1>
        <div className="actions">
          <span data-testid="conversation-status" data-status={conversation.status} aria-live="polite">
            <ConversationStatusBadge status={conversation.status} />
          </span>
          {conversation.status !== "archived" && (
            <button type="button" disabled={archive.isPending} onClick={() => archive.mutate()}>
              Archive
            </button>
          )}
        </div>
      </div>
      {archive.isError && <ErrorNote error={archive.error} />}
      {conversation.status === "archived" && <p className="muted">This conversation is archived; a new message reopens it.</p>}
      {thread}
      <Thread messages={messages} taskNames={taskNames} working={pendingTurns(messages).size > 0} />
      {waiting.map((question) => (
        <QuestionPanel
          key={question.run_id}
          question={question}
          taskName={taskNames.get(question.task_id)}
          sending={send.isPending}
          onAnswer={(text) => send.mutate({ text, replyTo: question.run_id, idempotencyKey: crypto.randomUUID() })}
          onAnswerInBox={waiting.length > 1 ? () => answerInBox(question) : undefined}
        />
      ))}
      <Composer
        textareaRef={composer}
        label={answering ? "Your answer" : "Message"}
        hint={
          answering
            ? "This message answers the question above."
            : waiting.length > 1
              ? "Several questions wait: pick the one to answer first."
              : undefined
        }
        sending={send.isPending}
        error={send.error}
        onSend={(text, idempotencyKey) =>
          send.mutateAsync({ text, replyTo, idempotencyKey }).then(() => setPicked(null))
        }
      />
    </article>
  );
}

function QuestionPanel({
  question,
  taskName,
  sending,
  onAnswer,
  onAnswerInBox,
}: {
  question: WaitingQuestion;
  taskName?: string;
  sending: boolean;
  onAnswer: (text: string) => void;
  onAnswerInBox?: () => void;
}) {
  const titleId = `question-${question.run_id}`;
  const choices =
    question.question_kind === "confirm"
      ? [
          { label: "Yes", text: "yes" },
          { label: "No", text: "no" },
        ]
      : question.question_kind === "choice"
        ? (question.question_options ?? []).map((option) => ({ label: option, text: option }))
        : [];
  return (
    <section className="question" aria-labelledby={titleId} data-testid="waiting-question">
      <h2 id={titleId}>
        <Link to={`/tasks/${question.task_id}`}>{taskName ?? "A task"}</Link> asks
      </h2>
      <Markdown text={question.question} label="Question" />
      {choices.length > 0 ? (
        <div className="answer-buttons" role="group" aria-labelledby={titleId}>
          {choices.map((choice) => (
            <button key={choice.text} type="button" className="primary" disabled={sending} onClick={() => onAnswer(choice.text)}>
              {choice.label}
            </button>
          ))}
        </div>
      ) : onAnswerInBox ? (
        <button type="button" onClick={onAnswerInBox}>
          Answer this question
        </button>
      ) : (
        <p className="muted">Answer it in the message box below.</p>
      )}
      <p className="hint">
        <Link to={`/runs/${question.run_id}`}>The waiting run</Link>
      </p>
    </section>
  );
}

export function NewConversationPage() {
  const create = useCreateConversation();
  const navigate = useNavigate();
  const [title, setTitle] = useState("");
  return (
    <article aria-labelledby="new-conversation-title" className="conversation">
      <p className="crumbs">
        <Link to="/conversations">Conversations</Link> › new
      </p>
      <h1 id="new-conversation-title">New conversation</h1>
      <div className="field">
        <label htmlFor="conversation-title-input">Title (optional)</label>
        <input id="conversation-title-input" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} aria-describedby="conversation-title-hint" />
        <p id="conversation-title-hint" className="hint">
          Without one, the conversation is named after its first message.
        </p>
      </div>
      <div className="empty">
        <p>Say what you need: “every Monday at 8, summarise the open pull requests”. The assistant can create tasks, run them and report back here.</p>
      </div>
      <Composer
        submitLabel="Start"
        sending={create.isPending}
        error={create.error}
        onSend={(text, idempotencyKey) =>
          create.mutateAsync({ title: title.trim(), text, idempotencyKey }).then((conversation) => navigate(`/conversations/${conversation.id}`, { replace: true }))
        }
      />
    </article>
  );
}
