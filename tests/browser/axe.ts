/**
 * axe-core for browser tests: the WCAG 2.1 A and AA violations on a page, as "rule: element"
 * lines (empty when the page is clean). The script is evaluated through the DevTools protocol,
 * so the page's CSP (no inline script) still holds.
 *
 * @module
 */

import type { Page } from "playwright-core";

const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** axe-core's WCAG 2.1 A and AA violations on the page as it is. */
export async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{ id: string; nodes: { target: string[] }[] }[]>(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  );
  return result.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}
