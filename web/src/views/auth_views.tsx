/** @jsxImportSource preact */
/**
 * The sign-in and sign-up screens.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useApp } from "./context.ts";
import {
  AppLink,
  Button,
  LanguageSelect,
  ProblemBanner,
  ScreenHeading,
  TextField,
  ThemeToggle,
} from "./controls.tsx";

function AuthLayout(props: { title: string; children: ComponentChildren }): JSX.Element {
  const { i18n } = useApp();
  return (
    <div class="flex min-h-dvh flex-col">
      <header class="flex items-center justify-between gap-2 px-4 py-3">
        <span class="text-lg font-bold tracking-tight">{i18n.t("app.name")}</span>
        <div class="flex items-center gap-2">
          <LanguageSelect compact />
          <ThemeToggle />
        </div>
      </header>
      <main id="main" class="flex flex-1 items-start justify-center px-4 pb-8 sm:items-center">
        <div class="w-full max-w-sm rounded-xl border border-slate-300 bg-white p-6 shadow-sm dark:border-slate-700 dark:bg-slate-900">
          <p class="mb-1 text-sm text-slate-600 dark:text-slate-300">{i18n.t("app.tagline")}</p>
          <ScreenHeading class="mb-4 text-2xl font-bold">{props.title}</ScreenHeading>
          {props.children}
        </div>
      </main>
    </div>
  );
}

type SsoModule = typeof import("./sso_buttons.tsx");
let ssoLoad: Promise<SsoModule> | null = null;

/** The single sign-on buttons, in their own chunk (most servers have none). */
function LazySsoButtons(): JSX.Element | null {
  const [module, setModule] = useState<SsoModule | null>(null);
  useEffect(() => {
    let live = true;
    ssoLoad ??= import("./sso_buttons.tsx");
    ssoLoad.then((loaded) => live && setModule(loaded), (err) => {
      ssoLoad = null;
      console.warn("gemeng: could not load single sign-on", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module ? <module.SsoButtons /> : null;
}

type ForgotModule = typeof import("./forgot_password.tsx");
let forgotLoad: Promise<ForgotModule> | null = null;

/** Password reset by email, in its own chunk (it shows only when the server sends mail). */
function LazyForgotPassword(): JSX.Element | null {
  const [module, setModule] = useState<ForgotModule | null>(null);
  useEffect(() => {
    let live = true;
    forgotLoad ??= import("./forgot_password.tsx");
    forgotLoad.then((loaded) => live && setModule(loaded), (err) => {
      forgotLoad = null;
      console.warn("gemeng: could not load the password reset", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module ? <module.ForgotPassword /> : null;
}

/** Sign in with a user name and password, or an identity provider the server offers. */
export function SignInView(): JSX.Element {
  const app = useApp();
  const { i18n, signIn: form } = app;
  return (
    <AuthLayout title={i18n.t("auth.signIn.title")}>
      <form
        class="flex flex-col gap-4"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit();
        }}
      >
        <TextField field={form.server} label="auth.server" hint="auth.serverHint" type="url" />
        <TextField field={form.username} label="auth.username" autocomplete="username" required />
        <TextField
          field={form.password}
          label="auth.password"
          type="password"
          autocomplete="current-password"
          required
        />
        <ProblemBanner problem={form.problem.value} />
        <Button type="submit" busy={form.busy.value}>
          {form.busy.value ? i18n.t("auth.busy") : i18n.t("auth.signIn.submit")}
        </Button>
      </form>
      <LazyForgotPassword />
      <LazySsoButtons />
      <p class="mt-6 text-sm">
        {i18n.t("auth.signIn.noAccount")}{" "}
        <AppLink href="/sign-up" onNavigate={() => app.go("signUp")}>
          {i18n.t("auth.signIn.toSignUp")}
        </AppLink>
      </p>
    </AuthLayout>
  );
}

/** Create an account; the token field appears when the server asks for one. */
export function SignUpView(): JSX.Element {
  const app = useApp();
  const { i18n, signUp: form } = app;
  useEffect(() => {
    void form.checkServer();
  }, [form]);
  const requirements = form.requirements.value;
  return (
    <AuthLayout title={i18n.t("auth.signUp.title")}>
      <form
        class="flex flex-col gap-4"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void form.submit();
        }}
      >
        <TextField
          field={form.server}
          label="auth.server"
          hint="auth.serverHint"
          type="url"
          onBlur={() => void form.checkServer()}
        />
        <TextField field={form.username} label="auth.username" autocomplete="username" required />
        <TextField
          field={form.password}
          label="auth.password"
          type="password"
          autocomplete="new-password"
          required
        />
        <TextField
          field={form.confirmPassword}
          label="auth.confirmPassword"
          type="password"
          autocomplete="new-password"
          required
        />
        {form.tokenRequired.value && (
          <TextField field={form.token} label="auth.token" hint="auth.tokenHint" required />
        )}
        <p role="status" class="text-sm text-slate-600 empty:hidden dark:text-slate-300">
          {requirements.state === "checking" ? i18n.t("auth.signUp.checking") : ""}
        </p>
        <ProblemBanner
          problem={form.problem.value ??
            (requirements.state === "failed" ? requirements.problem : null)}
        />
        <Button type="submit" busy={form.busy.value}>
          {form.busy.value ? i18n.t("auth.busy") : i18n.t("auth.signUp.submit")}
        </Button>
      </form>
      <p class="mt-6 text-sm">
        {i18n.t("auth.signUp.haveAccount")}{" "}
        <AppLink href="/sign-in" onNavigate={() => app.go("signIn")}>
          {i18n.t("auth.signUp.toSignIn")}
        </AppLink>
      </p>
    </AuthLayout>
  );
}
