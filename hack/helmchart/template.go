package main

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// A template is one object of the chart on its way to a Helm template: the
// object as kustomize built it, with tokens standing where Helm expressions
// go. The object is marshalled as plain YAML first and the tokens replaced
// in the text afterwards, so the template keeps the exact layout of the
// object and only the few install-specific spots are Helm's.
type template struct {
	obj        map[string]any
	directives []directive
	// conditions must all hold for the object to be rendered.
	conditions []string
	// perWatched renders one copy of the object for each watched namespace,
	// its metadata.namespace set to that namespace.
	perWatched bool
	// prelude is rendered before the object (checks of the values).
	prelude string
}

type directiveKind int

const (
	// inline replaces the token wherever it stands in a string.
	inline directiveKind = iota
	// listItem replaces a list item that is only the token with a line of
	// its own: the opening or closing action around the items between.
	listItem
	// block gives the key whose value is the token the YAML of a value.
	block
	// optional renders the key whose value is the token only when the value
	// is set, with the value's YAML.
	optional
)

type directive struct {
	kind directiveKind
	// expr is the Helm expression: for inline the text put in place of the
	// token, for listItem the whole line, for block and optional what
	// toYaml is given.
	expr string
}

const tokenPrefix = "__helm_"

var tokenPattern = regexp.MustCompile(tokenPrefix + `[0-9]+__`)

// token registers a directive and returns the token that stands for it.
func (t *template) token(kind directiveKind, expr string) string {
	for i, d := range t.directives {
		if d.kind == kind && d.expr == expr {
			return fmt.Sprintf("%s%d__", tokenPrefix, i)
		}
	}
	t.directives = append(t.directives, directive{kind: kind, expr: expr})
	return fmt.Sprintf("%s%d__", tokenPrefix, len(t.directives)-1)
}

// when wraps list items in a Helm if: the items are kept where cond holds.
func (t *template) when(cond string, items ...any) []any {
	out := []any{t.token(listItem, "{{- if "+cond+" }}")}
	out = append(out, items...)
	return append(out, t.token(listItem, "{{- end }}"))
}

var (
	listItemLine = regexp.MustCompile(`^\s*- (` + tokenPrefix + `[0-9]+__)$`)
	keyLine      = regexp.MustCompile(`^(\s*)((?:- )?)([^\s:]+): (` + tokenPrefix + `[0-9]+__)$`)
)

// render returns the Helm template of the object.
func (t *template) render() (string, error) {
	raw, err := yaml.Marshal(t.obj)
	if err != nil {
		return "", err
	}
	// What kustomize built is text to Helm: an action delimiter in it
	// (say, in a CEL expression) is printed, never run.
	text := strings.ReplaceAll(string(raw), "{{", `{{ "{{" }}`)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var out []string
	for _, line := range lines {
		if m := listItemLine.FindStringSubmatch(line); m != nil {
			d, err := t.lookup(m[1])
			if err != nil {
				return "", err
			}
			if d.kind != listItem {
				return "", fmt.Errorf("token of a value stands as a list item: %q", line)
			}
			out = append(out, d.expr)
			continue
		}
		if m := keyLine.FindStringSubmatch(line); m != nil {
			d, err := t.lookup(m[4])
			if err != nil {
				return "", err
			}
			indent, dash, key := m[1], m[2], m[3]
			nested := len(indent) + len(dash) + 2
			switch d.kind {
			case block:
				out = append(out, fmt.Sprintf("%s%s%s: {{- toYaml %s | nindent %d }}", indent, dash, key, d.expr, nested))
				continue
			case optional:
				if dash != "" {
					return "", fmt.Errorf("optional key %s opens a list item", key)
				}
				out = append(out,
					"{{- with "+d.expr+" }}",
					fmt.Sprintf("%s%s: {{- toYaml . | nindent %d }}", indent, key, nested),
					"{{- end }}")
				continue
			}
		}
		out = append(out, line)
	}
	body := strings.Join(out, "\n")
	var missing error
	body = tokenPattern.ReplaceAllStringFunc(body, func(tok string) string {
		d, err := t.lookup(tok)
		if err == nil && d.kind != inline {
			err = fmt.Errorf("token %s is not where its directive can stand", tok)
		}
		if err != nil {
			missing = err
			return tok
		}
		return d.expr
	})
	if missing != nil {
		return "", missing
	}
	return t.wrap(body), nil
}

// wrap puts the conditions and the loop over watched namespaces around the
// object's text.
func (t *template) wrap(body string) string {
	var b strings.Builder
	if t.prelude != "" {
		b.WriteString(t.prelude + "\n")
	}
	switch len(t.conditions) {
	case 0:
	case 1:
		b.WriteString("{{- if " + t.conditions[0] + " }}\n")
	default:
		b.WriteString("{{- if and")
		for _, c := range t.conditions {
			b.WriteString(" (" + c + ")")
		}
		b.WriteString(" }}\n")
	}
	if t.perWatched {
		b.WriteString("{{- range $watched := .Values.watchNamespaces }}\n---\n")
	}
	b.WriteString(body + "\n")
	if t.perWatched {
		b.WriteString("{{- end }}\n")
	}
	if len(t.conditions) > 0 {
		b.WriteString("{{- end }}\n")
	}
	return b.String()
}

func (t *template) lookup(tok string) (directive, error) {
	var i int
	if _, err := fmt.Sscanf(strings.TrimPrefix(tok, tokenPrefix), "%d__", &i); err != nil || i >= len(t.directives) {
		return directive{}, fmt.Errorf("unknown token %s", tok)
	}
	return t.directives[i], nil
}

// walkStrings calls f on every string of the tree, keys excepted, and puts
// back what it returns.
func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = walkStrings(e, f)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = walkStrings(e, f)
		}
		return x
	case string:
		return f(x)
	default:
		return v
	}
}

// anyString reports whether f holds for a string of the tree.
func anyString(v any, f func(string) bool) bool {
	found := false
	walkStrings(v, func(s string) string {
		found = found || f(s)
		return s
	})
	return found
}
