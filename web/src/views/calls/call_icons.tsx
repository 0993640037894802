/** @jsxImportSource preact */
/**
 * Line icons of the call controls (decorative: the buttons carry the names).
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";

function Icon(props: { children: ComponentChildren; class?: string }): JSX.Element {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      class={props.class ?? "h-5 w-5"}
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      {props.children}
    </svg>
  );
}

const HANDSET =
  "M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z";

/** A telephone handset. */
export function PhoneIcon(props: { class?: string }): JSX.Element {
  return (
    <Icon class={props.class}>
      <path d={HANDSET} />
    </Icon>
  );
}

/** A handset turned down (hang up, decline). */
export function HangUpIcon(props: { class?: string }): JSX.Element {
  return (
    <Icon class={props.class}>
      <g transform="rotate(135 12 12)">
        <path d={HANDSET} />
      </g>
    </Icon>
  );
}

/** A video camera, crossed out when `off`. */
export function CameraIcon(props: { off?: boolean; class?: string }): JSX.Element {
  return (
    <Icon class={props.class}>
      <path d="M23 7l-7 5 7 5V7z" />
      <rect x="1" y="5" width="15" height="14" rx="2" />
      {props.off && <path d="M2 2l20 20" />}
    </Icon>
  );
}

/** A microphone, crossed out when `off`. */
export function MicrophoneIcon(props: { off?: boolean; class?: string }): JSX.Element {
  return (
    <Icon class={props.class}>
      <rect x="9" y="2" width="6" height="12" rx="3" />
      <path d="M19 10v1a7 7 0 0 1-14 0v-1M12 18v4M8 22h8" />
      {props.off && <path d="M2 2l20 20" />}
    </Icon>
  );
}

/** A cross (close). */
export function CloseIcon(props: { class?: string }): JSX.Element {
  return (
    <Icon class={props.class}>
      <path d="M18 6L6 18M6 6l12 12" />
    </Icon>
  );
}
