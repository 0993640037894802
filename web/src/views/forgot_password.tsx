/** @jsxImportSource preact */
/**
 * Password reset by email on the sign-in screen (docs/email.md): the address, the mailed link
 * the person confirms, then the new password, set by `POST /account/password` without an access
 * token and the `m.login.email.identity` stage. Its own chunk; it shows nothing on servers that
 * send no mail.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { type ForgotKey, forgotText } from "../i18n/forgot_password.ts";
import { resolveHomeserver } from "../matrix/auth.ts";
import { useApp } from "./context.ts";
import { Button } from "./controls.tsx";
import { INPUT_CLASS } from "./rooms/parts.tsx";

const API = "/_matrix/client/v3/account/password";

type Step = "closed" | "email" | "password" | "done";

function useText(): (key: ForgotKey) => string {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key) => forgotText(locale, key);
}

/**
 * Whether the server resets passwords by email. An empty `requestToken` changes nothing and
 * sends nothing: a server with mail complains about the missing fields, one without says
 * `M_THREEPID_MEDIUM_NOT_SUPPORTED` (gemeng, docs/email.md) or answers with another error.
 */
async function offersReset(homeserverUrl: string): Promise<boolean> {
  const res = await fetch(`${homeserverUrl}${API}/email/requestToken`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  const body = await res.json().catch(() => ({}));
  return res.status === 400 && ["M_MISSING_PARAM", "M_BAD_JSON"].includes(body?.errcode);
}

/** The homeserver of the sign-in form when it offers the reset, else "". */
function useResetServer(server: string): string {
  const [found, setFound] = useState("");
  useEffect(() => {
    let live = true;
    // Typing an address should not ask the server at every key stroke.
    const timer = setTimeout(async () => {
      try {
        const homeserverUrl = await resolveHomeserver(server);
        const offered = await offersReset(homeserverUrl);
        if (live) setFound(offered ? homeserverUrl : "");
      } catch {
        if (live) setFound("");
      }
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [server]);
  return found;
}

function problemOf(errcode: unknown): ForgotKey {
  switch (errcode) {
    case "M_THREEPID_NOT_FOUND":
      return "forgot.unknownAddress";
    case "M_FORBIDDEN":
      return "forgot.organisation";
    case "M_WEAK_PASSWORD":
    case "M_PASSWORD_TOO_SHORT":
      return "forgot.weak";
    case "M_UNAUTHORIZED":
      return "forgot.notConfirmed";
    default:
      return "forgot.failed";
  }
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

function Field(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type: "email" | "password";
  autocomplete: string;
  hint?: string;
  autofocus?: boolean;
}): JSX.Element {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (props.autofocus) input.current?.focus();
  }, []);
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{props.label}</label>
      <input
        id={id}
        ref={input}
        type={props.type as "text"}
        class={INPUT_CLASS}
        value={props.value}
        maxLength={512}
        required
        autocomplete={props.autocomplete}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.hint && (
        <p id={`${id}-hint`} class="text-sm text-slate-600 dark:text-slate-300">{props.hint}</p>
      )}
    </div>
  );
}

/** The "Forgot password?" button and, once opened, the reset's steps. */
export function ForgotPassword(): JSX.Element | null {
  const app = useApp();
  const t = useText();
  const homeserverUrl = useResetServer(app.signIn.server.value.value.trim());
  const [step, setStep] = useState<Step>("closed");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ForgotKey | null>(null);
  const [session, setSession] = useState({ sid: "", clientSecret: "", attempt: 0 });
  const headingId = useId();
  if (!homeserverUrl) return null;
  if (step === "closed") {
    return (
      <p class="mt-4 text-sm">
        <button
          type="button"
          class="font-semibold text-sky-800 underline hover:text-sky-900 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-sky-300"
          onClick={() => {
            setProblem(null);
            setStep("email");
          }}
        >
          {t("forgot.open")}
        </button>
      </p>
    );
  }

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch {
      setProblem("forgot.failed");
    } finally {
      setBusy(false);
    }
  };
  const sendLink = () =>
    run(async () => {
      const clientSecret = session.clientSecret || crypto.randomUUID();
      const attempt = session.attempt + 1;
      const res = await post(`${homeserverUrl}${API}/email/requestToken`, {
        client_secret: clientSecret,
        email: email.trim(),
        send_attempt: attempt,
      });
      if (res.status !== 200 || typeof res.body.sid !== "string") {
        setProblem(problemOf(res.body.errcode));
        return;
      }
      setSession({ sid: res.body.sid, clientSecret, attempt });
      setStep("password");
    });
  const setNewPassword = () =>
    run(async () => {
      if (password !== confirm) {
        setProblem("forgot.mismatch");
        return;
      }
      // The first call opens the user-interactive auth session; the second completes its stage.
      const first = await post(`${homeserverUrl}${API}`, { new_password: password });
      if (first.status !== 401 || typeof first.body.session !== "string") {
        setProblem(problemOf(first.body.errcode));
        return;
      }
      const res = await post(`${homeserverUrl}${API}`, {
        new_password: password,
        auth: {
          type: "m.login.email.identity",
          session: first.body.session,
          threepid_creds: { sid: session.sid, client_secret: session.clientSecret },
        },
      });
      if (res.status !== 200) {
        setProblem(problemOf(res.status === 401 ? "M_UNAUTHORIZED" : res.body.errcode));
        return;
      }
      setPassword("");
      setConfirm("");
      setStep("done");
    });
  const close = () => {
    setStep("closed");
    setProblem(null);
  };

  return (
    <section aria-labelledby={headingId} class="mt-4 flex flex-col gap-3">
      <h2 id={headingId} class="text-lg font-bold">{t("forgot.title")}</h2>
      {step === "email" && (
        <form
          class="flex flex-col gap-3"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void sendLink();
          }}
        >
          <Field
            label={t("forgot.email")}
            type="email"
            autocomplete="email"
            value={email}
            onInput={setEmail}
            autofocus
          />
          <Button type="submit" busy={busy}>
            {t("forgot.send")}
          </Button>
        </form>
      )}
      {step === "password" && (
        <form
          class="flex flex-col gap-3"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void setNewPassword();
          }}
        >
          <p role="status" class="text-sm">{t("forgot.sent")}</p>
          <Field
            label={t("forgot.newPassword")}
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={setPassword}
            autofocus
          />
          <Field
            label={t("forgot.confirmPassword")}
            type="password"
            autocomplete="new-password"
            value={confirm}
            onInput={setConfirm}
          />
          <Button type="submit" busy={busy}>
            {t("forgot.save")}
          </Button>
        </form>
      )}
      {step === "done" && <p role="status" class="text-sm">{t("forgot.done")}</p>}
      <div role="alert" class="empty:hidden">
        {problem && (
          <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
            {t(problem)}
          </p>
        )}
      </div>
      <Button variant="quiet" onClick={close}>
        {step === "done" ? t("forgot.back") : t("forgot.cancel")}
      </Button>
    </section>
  );
}
