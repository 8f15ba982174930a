// Package wireshark carries chatlab's Wireshark dissector, a Lua plugin
// for chatlab plain and secure mode and for the original C program, so
// that sniff can print it or install it.
package wireshark

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed chatlab.lua
var plugin []byte

// FileName is the plugin's name in the plugin folder.
const FileName = "chatlab.lua"

// Plugin returns the Lua source of the dissector.
func Plugin() []byte { return append([]byte(nil), plugin...) }

// PluginDir is the personal plugin folder Wireshark and tshark load Lua
// plugins from at start: ~/.local/lib/wireshark/plugins on Linux and
// macOS, %APPDATA%\Wireshark\plugins on Windows.
func PluginDir() (string, error) {
	if appData := os.Getenv("APPDATA"); appData != "" && filepath.Separator == '\\' {
		return filepath.Join(appData, "Wireshark", "plugins"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("wireshark: no home directory for the plugin folder: %w", err)
	}
	return filepath.Join(home, ".local", "lib", "wireshark", "plugins"), nil
}

// Install writes the plugin into dir, or into PluginDir when dir is
// empty, creating the folder if needed, and returns the file's path. An
// older chatlab.lua there is replaced; the write goes to a temporary file
// first, so a failed install leaves the old one whole.
func Install(dir string) (string, error) {
	if dir == "" {
		d, err := PluginDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wireshark: plugin folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".chatlab-*.lua")
	if err != nil {
		return "", fmt.Errorf("wireshark: install plugin: %w", err)
	}
	_, werr := tmp.Write(plugin)
	cerr := tmp.Close()
	if err := firstErr(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("wireshark: install plugin: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("wireshark: install plugin: %w", err)
	}
	return path, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
