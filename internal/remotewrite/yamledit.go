package remotewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The two text formats (prometheus.yml and OpenShift's config.yaml) are
// edited as text wherever the list of entries is in block style, the common
// case: only the lines of our entry change, so the user's comments,
// quoting, ordering and indentation stay byte for byte. Where that is not
// possible (a flow-style list, anchors, an entry written over several
// styles), the document is edited as a yaml.v3 node tree and encoded again,
// which keeps the content and the comments but not the layout.

// document is a YAML text with its node tree.
type document struct {
	lines []string // each with its line ending
	eol   string
	root  *yaml.Node // the top-level mapping; nil for an empty document
	node  *yaml.Node // the document node
	// spliceable: the node lines match the text's lines.
	spliceable bool
}

func parseDocument(text string) (*document, error) {
	d := &document{eol: "\n"}
	if i := strings.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		d.eol = "\r\n"
	}
	d.lines = strings.SplitAfter(text, "\n")
	if d.lines[len(d.lines)-1] == "" {
		d.lines = d.lines[:len(d.lines)-1]
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	var n yaml.Node
	switch err := dec.Decode(&n); {
	case errors.Is(err, io.EOF):
		return d, nil
	case err != nil:
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	d.node = &n
	// Line arithmetic counts "\n" only; YAML also breaks lines at a lone
	// "\r" and at Unicode line separators.
	d.spliceable = !strings.ContainsAny(strings.ReplaceAll(text, "\r\n", "\n"), "\r\u0085\u2028\u2029")
	if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
		return d, nil
	}
	if n.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a mapping")
	}
	d.root = n.Content[0]
	return d, nil
}

func (d *document) text() string { return strings.Join(d.lines, "") }

// lookup returns the key and value nodes of key in mapping m, and the
// index of the key.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node, i int) {
	if m == nil {
		return nil, nil, -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1], i
		}
	}
	return nil, nil, -1
}

// parentRef locates a nested value for working out where it ends.
type parentRef struct {
	mapping *yaml.Node
	index   int // index of the key in mapping.Content
}

// nextLine is the line (1-based) where whatever follows the value of the
// innermost key in path starts: the next key of its mapping, or of an outer
// mapping, or the line after the last.
func (d *document) nextLine(path []parentRef) int {
	for i := len(path) - 1; i >= 0; i-- {
		p := path[i]
		if p.index+2 < len(p.mapping.Content) {
			return p.mapping.Content[p.index+2].Line
		}
	}
	return len(d.lines) + 1
}

// trimEnd moves end (exclusive, 1-based) back over blank and comment-only
// lines, which belong to what follows rather than to what precedes.
func (d *document) trimEnd(start, end int) int {
	for end-1 > start {
		t := strings.TrimSpace(d.lines[end-2])
		if t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		end--
	}
	return end
}

// splice replaces lines [start, end) (1-based) with text.
func (d *document) splice(start, end int, text string) {
	if start > len(d.lines) && len(d.lines) > 0 && !strings.HasSuffix(d.lines[len(d.lines)-1], "\n") {
		d.lines[len(d.lines)-1] += d.eol
	}
	var repl []string
	if text != "" {
		repl = strings.SplitAfter(text, "\n")
		if repl[len(repl)-1] == "" {
			repl = repl[:len(repl)-1]
		}
	}
	out := append([]string{}, d.lines[:start-1]...)
	out = append(out, repl...)
	d.lines = append(out, d.lines[min(end-1, len(d.lines)):]...)
}

// itemText renders value as a block sequence item whose dash is at column
// indent, with the document's line endings.
func (d *document) itemText(value any, indent int) (string, error) {
	body, err := encodeBlock(value)
	if err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if i == 0 {
			b.WriteString(pad + "- " + line + d.eol)
		} else {
			b.WriteString(pad + "  " + line + d.eol)
		}
	}
	return b.String(), nil
}

func encodeBlock(value any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(value); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// seqEdit merges or removes the item named name in the sequence at path
// (keys from the top-level mapping down), keeping every other byte where it
// can. want nil removes.
func seqEdit(text string, path []string, name string, want any) (string, bool, error) {
	d, err := parseDocument(text)
	if err != nil {
		return "", false, err
	}
	out, changed, ok, err := d.spliceEdit(path, name, want)
	if err != nil {
		return "", false, err
	}
	// The text edit is used only when it means exactly the intended edit of
	// the data: odd layouts (complex keys, indented documents, tags) that
	// the line arithmetic gets wrong fall back to the node tree.
	expected, err := editedData(text, path, name, want)
	if err != nil {
		return "", false, err
	}
	if ok && dataEquals(out, expected) {
		return out, changed, nil
	}
	fresh, err := parseDocument(text)
	if err != nil {
		return "", false, err
	}
	out, changed, err = fresh.treeEdit(path, name, want)
	if err != nil {
		return "", false, err
	}
	if !dataEquals(out, expected) {
		// Encoding the tree again would change something else in the
		// configuration (a tag, a null in a flow mapping): refuse rather
		// than alter the user's data.
		return "", false, fmt.Errorf("%s cannot be edited without changing other settings; write it as a block-style list", strings.Join(path, "."))
	}
	return out, changed, nil
}

// editedData is what the document means after the edit, computed on the
// decoded data rather than the text.
func editedData(text string, path []string, name string, want any) (any, error) {
	var doc any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, err
	}
	var wantData any
	if want != nil {
		block, err := encodeBlock(want)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal([]byte(block), &wantData); err != nil {
			return nil, err
		}
	}
	root, _ := doc.(map[string]any)
	if root == nil {
		if doc != nil {
			return nil, errors.New("not a mapping")
		}
		root = map[string]any{}
	}
	parents := []map[string]any{root}
	m := root
	for _, key := range path[:len(path)-1] {
		next, _ := m[key].(map[string]any)
		if next == nil {
			if want == nil {
				return doc, nil
			}
			next = map[string]any{}
			m[key] = next
		}
		parents = append(parents, next)
		m = next
	}
	last := path[len(path)-1]
	list, _ := m[last].([]any)
	var out []any
	found := false
	for _, item := range list {
		if im, ok := item.(map[string]any); ok && im["name"] == name {
			if want != nil && !found {
				out = append(out, wantData)
			}
			found = true
			continue
		}
		out = append(out, item)
	}
	if want != nil && !found {
		out = append(out, wantData)
	}
	if want == nil && !found {
		return doc, nil
	}
	if len(out) == 0 {
		delete(m, last)
		for i := len(parents) - 1; i > 0 && len(parents[i]) == 0; i-- {
			delete(parents[i-1], path[i-1])
		}
	} else {
		m[last] = out
	}
	if len(root) == 0 {
		return nil, nil
	}
	return root, nil
}

func dataEquals(text string, data any) bool {
	var v any
	if yaml.Unmarshal([]byte(text), &v) != nil {
		return false
	}
	return reflect.DeepEqual(v, data)
}

// spliceEdit is the textual edit; ok is false when the document's shape
// needs the node-tree edit instead.
func (d *document) spliceEdit(path []string, name string, want any) (string, bool, bool, error) {
	if !d.spliceable && d.node != nil {
		return "", false, false, nil
	}
	var refs []parentRef
	m := d.root
	var keyNode, val *yaml.Node
	for depth, key := range path {
		k, v, i := lookup(m, key)
		if k == nil {
			if want == nil {
				return d.text(), false, true, nil
			}
			return d.insertKey(m, refs, path[depth:], want)
		}
		refs = append(refs, parentRef{m, i})
		keyNode, val = k, v
		if depth < len(path)-1 {
			if v.Kind != yaml.MappingNode {
				if isNull(v) {
					return "", false, false, nil
				}
				return "", false, false, fmt.Errorf("%s is not a mapping", strings.Join(path[:depth+1], "."))
			}
			if v.Style&yaml.FlowStyle != 0 || v.Anchor != "" {
				return "", false, false, nil
			}
			m = v
		}
	}
	if isNull(val) {
		return "", false, false, nil
	}
	if val.Kind != yaml.SequenceNode {
		return "", false, false, fmt.Errorf("%s is not a list", strings.Join(path, "."))
	}
	if val.Style&yaml.FlowStyle != 0 || val.Anchor != "" || len(val.Content) == 0 {
		return "", false, false, nil
	}
	// Each item's lines: from its dash to the next item.
	starts := make([]int, len(val.Content))
	for i, item := range val.Content {
		if item.Kind == yaml.AliasNode || item.Anchor != "" || item.Style&yaml.FlowStyle != 0 {
			return "", false, false, nil
		}
		if item.Line < 1 || item.Line > len(d.lines) {
			return "", false, false, nil
		}
		line := d.lines[item.Line-1]
		dash := strings.IndexByte(line, '-')
		if dash < 0 || strings.TrimSpace(line[:dash]) != "" || dash+1 > item.Column-1 {
			return "", false, false, nil
		}
		starts[i] = item.Line
	}
	indent := strings.IndexByte(d.lines[starts[0]-1], '-')
	end := func(i int) int {
		if i+1 < len(starts) {
			return d.trimEnd(starts[i], starts[i+1])
		}
		return d.trimEnd(starts[i], d.nextLine(refs))
	}

	idx := -1
	for i, item := range val.Content {
		if itemNameNode(item) == name {
			idx = i
			break
		}
	}
	switch {
	case want == nil && idx < 0:
		return d.text(), false, true, nil
	case want == nil && len(val.Content) == 1:
		// The list was only ours: take the key with it, and an enclosing
		// mapping that is left empty.
		start := keyNode.Line
		if len(refs) > 1 {
			outer := refs[len(refs)-2]
			if len(outer.mapping.Content[outer.index+1].Content) == 2 {
				start = outer.mapping.Content[outer.index].Line
			}
		}
		d.splice(start, end(idx), "")
		if strings.TrimSpace(d.text()) == "" {
			return "", true, true, nil
		}
		return d.text(), true, true, nil
	case want == nil:
		d.splice(starts[idx], end(idx), "")
		return d.text(), true, true, nil
	case idx >= 0:
		if sameValue(val.Content[idx], want) {
			return d.text(), false, true, nil
		}
		text, err := d.itemText(want, indent)
		if err != nil {
			return "", false, false, err
		}
		d.splice(starts[idx], end(idx), text)
		return d.text(), true, true, nil
	default:
		text, err := d.itemText(want, indent)
		if err != nil {
			return "", false, false, err
		}
		at := end(len(starts) - 1)
		d.splice(at, at, text)
		return d.text(), true, true, nil
	}
}

// insertKey adds the missing keys of path, ending in a list holding want,
// at the end of mapping m (the document's end for the top level).
func (d *document) insertKey(m *yaml.Node, refs []parentRef, path []string, want any) (string, bool, bool, error) {
	if m != nil && (m.Style&yaml.FlowStyle != 0 || m.Anchor != "") {
		return "", false, false, nil
	}
	indent := 0
	if m != nil && len(m.Content) > 0 {
		indent = m.Content[0].Column - 1
	} else if m != nil && m != d.root {
		return "", false, false, nil
	}
	var b strings.Builder
	pad := indent
	for _, key := range path {
		fmt.Fprintf(&b, "%s%s:%s", strings.Repeat(" ", pad), key, d.eol)
		pad += 2
	}
	item, err := d.itemText(want, pad-2)
	if err != nil {
		return "", false, false, err
	}
	b.WriteString(item)
	at := len(d.lines) + 1
	if m != nil && m != d.root {
		// After the last line of the enclosing mapping's content.
		at = d.trimEnd(m.Content[0].Line, d.nextLine(refs))
	}
	d.splice(at, at, b.String())
	return d.text(), true, true, nil
}

// treeEdit edits the node tree and encodes the whole document again.
func (d *document) treeEdit(path []string, name string, want any) (string, bool, error) {
	if d.node == nil || d.root == nil {
		d.node = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		d.root = d.node.Content[0]
	}
	m := d.root
	var seq *yaml.Node
	var parents []*yaml.Node
	for depth, key := range path {
		_, v, i := lookup(m, key)
		if v == nil {
			if want == nil {
				return d.text(), false, nil
			}
			v = &yaml.Node{Kind: yaml.MappingNode}
			if depth == len(path)-1 {
				v = &yaml.Node{Kind: yaml.SequenceNode}
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
		} else if isNull(v) {
			if want == nil {
				return d.text(), false, nil
			}
			kind := yaml.MappingNode
			if depth == len(path)-1 {
				kind = yaml.SequenceNode
			}
			*v = yaml.Node{Kind: kind}
		}
		v = resolveAlias(v)
		_ = i
		parents = append(parents, m)
		if depth == len(path)-1 {
			if v.Kind != yaml.SequenceNode {
				return "", false, fmt.Errorf("%s is not a list", strings.Join(path, "."))
			}
			seq = v
		} else {
			if v.Kind != yaml.MappingNode {
				return "", false, fmt.Errorf("%s is not a mapping", strings.Join(path[:depth+1], "."))
			}
			m = v
		}
	}
	idx := -1
	for i, item := range seq.Content {
		if itemNameNode(item) == name {
			idx = i
			break
		}
	}
	switch {
	case want == nil && idx < 0:
		return d.text(), false, nil
	case want == nil:
		seq.Content = append(seq.Content[:idx], seq.Content[idx+1:]...)
		if len(seq.Content) == 0 {
			// Drop the emptied list, and mappings it leaves empty.
			for depth := len(path) - 1; depth >= 0; depth-- {
				parent := parents[depth]
				_, v, i := lookup(parent, path[depth])
				if len(v.Content) > 0 {
					break
				}
				parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
			}
		}
	case idx >= 0 && sameValue(seq.Content[idx], want):
		return d.text(), false, nil
	default:
		var n yaml.Node
		if err := n.Encode(want); err != nil {
			return "", false, err
		}
		if idx >= 0 {
			seq.Content[idx] = &n
		} else {
			seq.Content = append(seq.Content, &n)
		}
	}
	seq.Style &^= yaml.FlowStyle
	if len(d.root.Content) == 0 {
		return "", true, nil
	}
	out, err := encodeBlock(d.node)
	if err != nil {
		return "", false, err
	}
	if d.eol != "\n" {
		out = strings.ReplaceAll(out, "\n", d.eol)
	}
	return out, true, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func itemNameNode(item *yaml.Node) string {
	item = resolveAlias(item)
	if item.Kind != yaml.MappingNode {
		return ""
	}
	_, v, _ := lookup(item, "name")
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// sameValue compares an item with the value we would write, as data.
func sameValue(item *yaml.Node, want any) bool {
	var have any
	if err := item.Decode(&have); err != nil {
		return false
	}
	text, err := encodeBlock(want)
	if err != nil {
		return false
	}
	var wantData any
	if err := yaml.Unmarshal([]byte(text), &wantData); err != nil {
		return false
	}
	return reflect.DeepEqual(have, wantData)
}
