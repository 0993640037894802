/** @jsxImportSource preact */
/**
 * Where the secure-messaging prompt goes in the conversation list: it loads as its own chunk,
 * and only when there is something to offer (set up, verify this device, a flow under way, a
 * recovery key that was never confirmed as saved).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { securityModel } from "../../state/security.ts";
import { useApp } from "../context.ts";

type PromptModule = typeof import("./secure_lazy.ts");
let promptLoad: Promise<PromptModule> | null = null;

/** The secure-messaging prompt, when there is one. */
export function SecurePromptSlot(): JSX.Element | null {
  const app = useApp();
  const model = securityModel(app);
  const mode = model.mode.value;
  const wanted = mode === "setUp" || mode === "restore" || model.setup.value.step !== "idle" ||
    model.restore.value.step !== "idle" ||
    (mode === "ready" && model.prefs.unsaved.value === app.session.userId.value);
  const [module, setModule] = useState<PromptModule | null>(null);
  useEffect(() => {
    if (!wanted || module) return;
    let live = true;
    promptLoad ??= import("./secure_lazy.ts");
    promptLoad.then((loaded) => live && setModule(loaded), (err) => {
      promptLoad = null;
      console.warn("gemeng: could not load the secure messaging prompt", err);
    });
    return () => {
      live = false;
    };
  }, [wanted]);
  return wanted && module ? <module.SecurePrompt /> : null;
}
