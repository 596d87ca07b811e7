// Chromium's flags for the tests: headless, no sandbox (CI runs as root), and
// nothing that reaches the network on its own.
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
