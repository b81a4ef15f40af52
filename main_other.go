//go:build !windows

package main

// attachConsole does nothing outside Windows: a program started from a terminal has it already.
func attachConsole() {}
