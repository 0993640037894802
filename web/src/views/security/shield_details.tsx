/** @jsxImportSource preact */
/**
 * What a message's mark means, in plain words, and the way out: verify the person or the
 * device, see which device it was, stop the opt-in warning, or go to the settings to verify
 * this device. Loaded when a mark is first opened.
 *
 * @module
 */

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { type SecureKey, secureText } from "../../i18n/secure_setup.ts";
import { securityModel } from "../../state/security.ts";
import type { Shield, ShieldKind } from "../../state/security_shields.ts";
import { startUserVerification, verificationModel } from "../../state/verification.ts";
import { useApp } from "../context.ts";

const BUTTON =
  "self-start rounded-md bg-sky-700 px-3 py-1.5 text-left font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600";
const QUIET =
  "self-start rounded-md border border-slate-400 px-3 py-1.5 text-left font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-700";

const EXPLANATIONS: Readonly<Record<Exclude<ShieldKind, "unverifiedDevice">, SecureKey>> = {
  waitingForKey: "secure.shield.waitingForKey",
  unverifiedSender: "secure.shield.unverifiedSender",
  notEncrypted: "secure.shield.notEncrypted",
  authenticity: "secure.shield.authenticity",
  identityChanged: "secure.shield.identityChanged",
  mismatchedSender: "secure.shield.mismatchedSender",
  problem: "secure.shield.problem",
};

/** The explanation of `shield` and what the reader can do about it. */
export function ShieldDetails(props: { shield: Shield; onDone: () => void }): JSX.Element {
  const app = useApp();
  const model = securityModel(app);
  const { shield, onDone } = props;
  const [problem, setProblem] = useState<string | null>(null);
  const t = (key: SecureKey, params?: Record<string, string>) =>
    secureText(app.i18n.locale.value, key, params);
  const user = { user: shield.senderId };
  const explanation = shield.kind === "unverifiedDevice"
    ? t(shield.own ? "secure.shield.ownDevice" : "secure.shield.otherDevice", user)
    : t(EXPLANATIONS[shield.kind], user);
  const device = shield.deviceId
    ? (shield.deviceName ? `${shield.deviceName} (${shield.deviceId})` : shield.deviceId)
    : null;
  // The verification overlay takes over from here and shows any failure itself.
  const run = (action: () => Promise<void>) => {
    onDone();
    void action().catch((err) => console.warn("gemeng: verification did not start", err));
  };
  const unlock = shield.kind === "waitingForKey" && model.mode.value !== "ready";
  return (
    <>
      <p>{explanation}</p>
      {device && <p class="break-all">{t("secure.shield.device", { device })}</p>}
      {shield.own && shield.kind === "unverifiedDevice" && shield.deviceId && (
        <button
          type="button"
          class={BUTTON}
          onClick={() => run(() => verificationModel(app).startDevice(shield.deviceId!))}
        >
          {t("secure.shield.verifyDevice")}
        </button>
      )}
      {shield.canVerifySender && (
        <button
          type="button"
          class={BUTTON}
          onClick={() => run(() => startUserVerification(app, shield.senderId))}
        >
          {t(
            shield.kind === "identityChanged"
              ? "secure.shield.verifyUserAgain"
              : "secure.shield.verifyUser",
            user,
          )}
        </button>
      )}
      {shield.optIn && (
        <button
          type="button"
          class={QUIET}
          onClick={() => {
            model.prefs.setWarnUnverified(false).then(
              onDone,
              (err) => setProblem(err instanceof Error ? err.message : String(err)),
            );
          }}
        >
          {t("secure.shield.stopWarning")}
        </button>
      )}
      {(unlock || (shield.own && shield.kind === "unverifiedDevice")) && (
        <button
          type="button"
          class={QUIET}
          onClick={() => app.go("settings")}
        >
          {t("secure.shield.openSettings")}
        </button>
      )}
      {problem && (
        <p role="alert" class="text-red-800 dark:text-red-200">
          {app.i18n.t("security.actionFailed", { message: problem })}
        </p>
      )}
    </>
  );
}
