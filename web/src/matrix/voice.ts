/**
 * Voice messages as received: the waveform of a message Element or this app sent (MSC1767 audio,
 * MSC3246 values 0..1024), for the player. Recording them is voice_recorder.ts, loaded when the
 * user first records.
 *
 * @module
 */

/** Largest waveform value (MSC3246 sends integers 0..1024). */
export const WAVEFORM_MAX = 1024;

/** The waveform of a received voice message (0..1 each), or null when it has none. */
export function readWaveform(content: Record<string, unknown>): number[] | null {
  const audio = content["org.matrix.msc1767.audio"] as { waveform?: unknown } | undefined;
  const raw = audio?.waveform;
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const values = raw.map((v) => typeof v === "number" && Number.isFinite(v) ? v : 0);
  return values.map((v) => Math.max(0, Math.min(1, v / WAVEFORM_MAX)));
}

/** Resamples a waveform to `count` bars (longer waveforms keep each group's maximum). */
export function resampleWaveform(values: readonly number[], count: number): number[] {
  if (values.length === 0) return new Array(count).fill(0);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor(i * values.length / count);
    const end = Math.max(start + 1, Math.floor((i + 1) * values.length / count));
    out.push(Math.max(...values.slice(start, end)));
  }
  return out;
}
