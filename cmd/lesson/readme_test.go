package main

import (
	"os"
	"strings"
	"testing"
)

// TestUsageIsInREADME keeps the README's usage block the real -h output.
func TestUsageIsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimRight(usage, "\n")) {
		t.Fatal("README.md does not carry lesson's usage text; paste the output of lesson -h")
	}
}
