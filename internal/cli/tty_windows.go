package cli

import "os"

// The console: written through CONOUT$, read through CONIN$.
const ttyPath, ttyInPath = "CONOUT$", "CONIN$"

// inForeground: a Windows console has no background process groups.
func inForeground(*os.File) bool { return true }
