/**
 * Quote, from a message's actions, asks the composer's view to add "> text": a signal per
 * composer, apart from the rest of the message actions so that the composer does not load them.
 *
 * @module
 */

import { type ReadonlySignal, type Signal, signal } from "@preact/signals";
import type { Composer } from "./composer.ts";

/** A text for a composer to add, with a serial so the same quote twice is added twice. */
export interface QuoteRequest {
  text: string;
  serial: number;
}

const quoteRequests = new WeakMap<Composer, Signal<QuoteRequest | null>>();
let quoteSerial = 0;

/** What the composer view is asked to add (Quote); the view watches it. */
export function quoteRequest(composer: Composer): ReadonlySignal<QuoteRequest | null> {
  let request = quoteRequests.get(composer);
  if (!request) {
    request = signal<QuoteRequest | null>(null);
    quoteRequests.set(composer, request);
  }
  return request;
}

/** Asks `composer`'s view to add `text`. */
export function addToComposer(composer: Composer, text: string): void {
  quoteRequest(composer);
  quoteRequests.get(composer)!.value = { text, serial: ++quoteSerial };
}
