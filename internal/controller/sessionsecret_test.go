package controller

import (
	"regexp"
	"strings"
	"testing"
)

func TestSessionSecretValue(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	seen := map[string]bool{}
	var all strings.Builder
	for i := 0; i < 1000; i++ {
		v, err := newSessionSecretValue()
		if err != nil {
			t.Fatal(err)
		}
		if !valid.Match(v) {
			t.Fatalf("%q is not 32 characters of [A-Za-z0-9]", v)
		}
		if seen[string(v)] {
			t.Fatal("the same session secret was generated twice")
		}
		seen[string(v)] = true
		all.Write(v)
	}
	// 32,000 draws from 62 characters: every character shows up.
	for _, c := range alphanumeric {
		if !strings.ContainsRune(all.String(), c) {
			t.Errorf("%q never drawn", c)
		}
	}
}

func TestValidSessionSecret(t *testing.T) {
	for value, want := range map[string]bool{
		// 32 alphanumeric characters decode (base64url) to 24 bytes: the
		// generated secrets are AES-192 keys.
		"0123456789abcdefABCDEFGHIJKLMNOP": true,
		// 43 characters decode to 32 bytes.
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY": true,
		// Not base64: used as is.
		"0123456789abcdef0123456789abcd/+": true,
		"0123456789abcde/":                 true,
		// 16 alphanumeric characters decode to 12 bytes.
		"0123456789abcdef": false,
		"too-short":        false,
		// The classic mistake: echo adds a newline.
		"0123456789abcdef0123456789abcd/+\n": false,
		"":                                   false,
	} {
		if got := validSessionSecret([]byte(value)); got != want {
			t.Errorf("%q: %v, want %v (%d bytes)", value, got, want, len(cookieSecretBytes([]byte(value))))
		}
	}
	for i := 0; i < 100; i++ {
		v, err := newSessionSecretValue()
		if err != nil {
			t.Fatal(err)
		}
		if !validSessionSecret(v) {
			t.Fatalf("a generated secret is not usable: %d bytes", len(cookieSecretBytes(v)))
		}
	}
}
