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
	for n, want := range map[int]bool{0: false, 15: false, 16: true, 24: true, 32: true, 33: false, 44: false} {
		if got := validSessionSecret(make([]byte, n)); got != want {
			t.Errorf("%d bytes: %v, want %v", n, got, want)
		}
	}
}
