package cli

const ttyPath = "CONOUT$"
