// Bundles the two third-party browser libraries the kiosk serves itself into kiosk/static/vendor/:
// Workbox's range requests (the service worker answers Range requests from a stored whole MP3)
// and WeChat's JS-SDK (the share card, loaded only where an official account is configured).
// Run `npm ci && npm run build` here after changing a version; commit the two bundles.
import { build } from "esbuild";

const common = { bundle: true, minify: true, format: "iife", target: "es2017", legalComments: "inline" };

await build({
  ...common,
  stdin: {
    contents: 'import { createPartialResponse } from "workbox-range-requests/createPartialResponse.js"; self.kioskRange = { createPartialResponse };',
    resolveDir: ".",
  },
  outfile: "../kiosk/static/vendor/workbox-range-requests.min.js",
  banner: { js: "/* workbox-range-requests 7.4.1 (createPartialResponse only). MIT License, Copyright Google LLC. */" },
  define: { "process.env.NODE_ENV": '"production"' },  // Workbox's production build: no debug logging
});

await build({
  ...common,
  stdin: { contents: 'import wx from "weixin-js-sdk"; window.kioskWx = wx;', resolveDir: "." },
  outfile: "../kiosk/static/vendor/jweixin.min.js",
  banner: { js: "/* weixin-js-sdk 1.6.5: WeChat's JS-SDK 1.6 as an npm package (its licence: MIT). */" },
});
