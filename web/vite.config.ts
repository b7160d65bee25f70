import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Everything the app needs is bundled into dist/: nothing is fetched from a CDN at run time,
// and no inline script is emitted (the Content-Security-Policy forbids them).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: {
    // `npm run dev` next to a running local stack: the API and dev sign-in stay same-origin.
    proxy: {
      "/v1": "http://127.0.0.1:3000",
      "/local": "http://127.0.0.1:3000",
      "/config.json": "http://127.0.0.1:3000",
    },
  },
});
