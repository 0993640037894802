/**
 * The two generated documents: index.html and the web app manifest.
 *
 * @module
 */

import { BRAND_COLOUR } from "./icons.ts";

/** URL paths of the built icons. */
export interface IconPaths {
  svg: string;
  png192: string;
  png512: string;
  maskable512: string;
}

/** The PWA manifest. */
export function webManifest(icons: IconPaths): string {
  return JSON.stringify(
    {
      name: "gemeng",
      short_name: "gemeng",
      description: "Matrix chat for communes and public services, end-to-end encrypted",
      id: "/",
      start_url: "/",
      scope: "/",
      display: "standalone",
      background_color: "#f8fafc",
      theme_color: BRAND_COLOUR,
      icons: [
        { src: icons.svg, sizes: "any", type: "image/svg+xml", purpose: "any" },
        { src: icons.png192, sizes: "192x192", type: "image/png", purpose: "any" },
        { src: icons.png512, sizes: "512x512", type: "image/png", purpose: "any" },
        { src: icons.maskable512, sizes: "512x512", type: "image/png", purpose: "maskable" },
      ],
    },
    null,
    2,
  );
}

/** The page: the stylesheet, the entry script and modulepreload links for its chunks. */
export function indexHtml(parts: {
  entry: string;
  initialScripts: string[];
  css: string;
  icons: IconPaths;
}): string {
  const preloads = parts.initialScripts.filter((file) => file !== parts.entry)
    .map((file) => `<link rel="modulepreload" href="${file}">`);
  return [
    `<!doctype html>`,
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">`,
    `<meta name="theme-color" content="${BRAND_COLOUR}">`,
    `<meta name="color-scheme" content="light dark">`,
    `<title>gemeng</title>`,
    `<link rel="manifest" href="/manifest.webmanifest">`,
    `<link rel="icon" href="${parts.icons.svg}" type="image/svg+xml">`,
    `<link rel="apple-touch-icon" href="${parts.icons.png192}">`,
    `<link rel="stylesheet" href="${parts.css}">`,
    ...preloads,
    `<script type="module" src="${parts.entry}"></script>`,
    `</head>`,
    `<body>`,
    `<div id="app"></div>`,
    `<noscript>gemeng needs JavaScript.</noscript>`,
    `</body>`,
    `</html>`,
    ``,
  ].join("\n");
}
