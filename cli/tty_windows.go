package cli

// The console: written through CONOUT$, read through CONIN$.
const ttyPath, ttyInPath = "CONOUT$", "CONIN$"
