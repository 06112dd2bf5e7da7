// Command hello is the baseline: the cheapest Go program that prints a line.
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
