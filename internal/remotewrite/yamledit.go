package remotewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The two text formats (prometheus.yml and OpenShift's config.yaml) are
// edited as text wherever the list of entries is in block style, the common
// case: only the lines of our entry change, so the user's comments,
// quoting, key order and indentation stay byte for byte. Positions come
// from yaml.v3's node tree. Where a textual edit is not possible (a
// flow-style list such as "remote_write: []", anchors or aliases on the
// way, an explicit null, a line structure yaml.v3 counts differently), the
// document is edited as a node tree and encoded again, which keeps the
// data and, as far as yaml.v3 can, the comments, but not the layout.
//
// Either result is accepted only when it decodes to exactly the intended
// data: the user's settings as they were, with our entry merged or
// removed. That check, not the line arithmetic, is what guarantees nothing
// else changes; an edit that passes neither way is an error, never a
// clobbered configuration.
//
// Only the first document of a stream is edited: Prometheus and the
// cluster monitoring operator both read the first one and ignore the rest.

// stream is a YAML text prepared for editing its first document.
type stream struct {
	// lines of the text, each with its line break; one is added to a last
	// line without, and taken away again on output (see finalEOL).
	lines    []string
	eol      string // the text's line break, from its first line
	finalEOL bool   // the text ends with a line break (or is empty)
	docs     []*yaml.Node
	// root is the first document's top-level mapping; nil when that
	// document is empty.
	root *yaml.Node
	// end is the line (1-based) where the first document stops: a "---"
	// or "..." marker after it, else one past the last line.
	end int
	// lineWise: yaml.v3's line numbers count the same line breaks as
	// lines. YAML also breaks lines at a lone "\r" and at Unicode line
	// separators, which would skew every position.
	lineWise bool
}

func parseStream(text string) (*stream, error) {
	s := &stream{eol: "\n", finalEOL: text == "" || strings.HasSuffix(text, "\n")}
	if i := strings.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		s.eol = "\r\n"
	}
	if text != "" {
		s.lines = strings.SplitAfter(text, "\n")
		if last := len(s.lines) - 1; s.lines[last] == "" {
			s.lines = s.lines[:last]
		} else if !s.finalEOL {
			s.lines[last] += s.eol
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		s.docs = append(s.docs, &n)
	}
	s.lineWise = !strings.ContainsAny(strings.ReplaceAll(text, "\r\n", "\n"), "\r\u0085\u2028\u2029")
	s.end = len(s.lines) + 1
	if len(s.docs) == 0 || len(s.docs[0].Content) == 0 || isNull(s.docs[0].Content[0]) {
		if len(s.docs) > 1 {
			s.end = s.docs[1].Line
		}
		return s, nil
	}
	top := s.docs[0].Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the configuration is %s, not a mapping", describe(top))
	}
	s.root = top
	// Document markers sit at column 0, which no content of a document
	// whose top level is a mapping can (block scalars are indented, and
	// quoted scalars may not contain markers).
	for i := top.Line; i < len(s.lines); i++ {
		line := strings.TrimRight(s.lines[i], "\r\n")
		for _, marker := range []string{"---", "..."} {
			if rest, ok := strings.CutPrefix(line, marker); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
				s.end = i + 1
				return s, nil
			}
		}
	}
	return s, nil
}

// canonical is the data of docs as one string: two texts mean the same
// configuration when their canonical forms are equal. Encoding, rather
// than comparing decoded values, makes NaN equal to itself.
func canonical(docs []any) (string, error) {
	var b strings.Builder
	for _, d := range docs {
		out, err := yaml.Marshal(d)
		if err != nil {
			return "", err
		}
		b.WriteString("--- ")
		b.Write(out)
	}
	return b.String(), nil
}

// data decodes every document.
func (s *stream) data() ([]any, error) {
	out := make([]any, len(s.docs))
	for i, d := range s.docs {
		if err := d.Decode(&out[i]); err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
	}
	return out, nil
}

func canonicalText(text string) (string, bool) {
	s, err := parseStream(text)
	if err != nil {
		return "", false
	}
	d, err := s.data()
	if err != nil {
		return "", false
	}
	c, err := canonical(d)
	return c, err == nil
}

// editList merges item (a mapping) into the list at path in text, in place
// of the entries called name, or removes those entries when item is nil.
func editList(text string, path []string, name string, item *yaml.Node) (string, bool, error) {
	s, err := parseStream(text)
	if err != nil {
		return "", false, err
	}
	if err := s.checkPath(path); err != nil {
		return "", false, err
	}
	before, err := s.data()
	if err != nil {
		return "", false, err
	}
	have, err := canonical(before)
	if err != nil {
		return "", false, err
	}
	var itemData any
	if item != nil {
		if err := item.Decode(&itemData); err != nil {
			return "", false, err
		}
	}
	after := slices.Clone(before)
	if len(after) == 0 {
		after = []any{nil}
	}
	had := after[0] != nil
	after[0], err = editData(after[0], path, name, itemData, item != nil)
	if err != nil {
		return "", false, err
	}
	switch {
	case after[0] != nil:
	case len(after) == 1:
		// Nothing left: the text is empty, or comments only.
		after = nil
	case had:
		// An emptied first document stays, as {}: dropping it would make
		// the next document the configuration.
		after[0] = map[string]any{}
	}
	want, err := canonical(after)
	if err != nil {
		return "", false, err
	}
	if want == have {
		return text, false, nil
	}
	if out, ok := s.splice(path, name, item); ok {
		if got, ok := canonicalText(out); ok && got == want {
			return out, true, nil
		}
	}
	out, ok := s.rewrite(path, name, item)
	if got, valid := canonicalText(out); !ok || !valid || got != want {
		// Encoding the tree again would change something else (an alias
		// shared with other settings, a merge key, a tag): refuse rather
		// than alter the user's data.
		return "", false, fmt.Errorf("%s cannot be edited without changing other settings; write it as a plain block-style list", strings.Join(path, "."))
	}
	return out, true, nil
}

// checkPath rejects a configuration where a key on path holds the wrong
// kind of value; a missing key or a null is fine (it is created).
func (s *stream) checkPath(path []string) error {
	m := s.root
	for depth, key := range path {
		if m == nil {
			return nil
		}
		i := keyIndex(m, key)
		if i < 0 {
			return nil
		}
		v := resolveAlias(m.Content[i+1])
		if isNull(v) {
			return nil
		}
		where := strings.Join(path[:depth+1], ".")
		if depth == len(path)-1 {
			if v.Kind != yaml.SequenceNode {
				return fmt.Errorf("%s is %s, not a list", where, describe(v))
			}
			return nil
		}
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is %s, not a mapping", where, describe(v))
		}
		m = v
	}
	return nil
}

// editData is the intended edit on decoded data: the first entry called
// name replaced (merge) and any others with that name dropped, or appended
// when there is none; on removal a list left empty goes, and so do the
// mappings on path it leaves empty.
func editData(doc any, path []string, name string, item any, merge bool) (any, error) {
	if doc == nil {
		if !merge {
			return nil, nil
		}
		doc = map[string]any{}
	}
	maps := []any{doc}
	cur := doc
	for _, key := range path[:len(path)-1] {
		next, _ := mapGet(cur, key)
		if next == nil {
			if !merge {
				return doc, nil
			}
			next = map[string]any{}
			mapSet(cur, key, next)
		}
		if !isMap(next) {
			return nil, fmt.Errorf("%s is not a mapping", key)
		}
		maps = append(maps, next)
		cur = next
	}
	last := path[len(path)-1]
	v, _ := mapGet(cur, last)
	list, ok := v.([]any)
	if v != nil && !ok {
		return nil, fmt.Errorf("%s is not a list", last)
	}
	var out []any
	found := false
	for _, it := range list {
		if n, ok := mapGet(it, "name"); ok && n == name {
			if merge && !found {
				out = append(out, item)
			}
			found = true
			continue
		}
		out = append(out, it)
	}
	switch {
	case merge && !found:
		out = append(out, item)
	case !merge && !found:
		return doc, nil
	}
	if len(out) > 0 {
		mapSet(cur, last, out)
		return doc, nil
	}
	mapDelete(cur, last)
	for i := len(maps) - 1; i > 0 && mapLen(maps[i]) == 0; i-- {
		mapDelete(maps[i-1], path[i-1])
	}
	if mapLen(doc) == 0 {
		return nil, nil
	}
	return doc, nil
}

// yaml.v3 decodes a mapping with only string keys to map[string]any and
// any other to map[any]any; a configuration may hold either.

func isMap(m any) bool {
	switch m.(type) {
	case map[string]any, map[any]any:
		return true
	}
	return false
}

func mapGet(m any, key string) (any, bool) {
	switch m := m.(type) {
	case map[string]any:
		v, ok := m[key]
		return v, ok
	case map[any]any:
		v, ok := m[key]
		return v, ok
	}
	return nil, false
}

func mapSet(m any, key string, v any) {
	switch m := m.(type) {
	case map[string]any:
		m[key] = v
	case map[any]any:
		m[key] = v
	}
}

func mapDelete(m any, key string) {
	switch m := m.(type) {
	case map[string]any:
		delete(m, key)
	case map[any]any:
		delete(m, key)
	}
}

func mapLen(m any) int {
	switch m := m.(type) {
	case map[string]any:
		return len(m)
	case map[any]any:
		return len(m)
	}
	return 0
}

// step is one key on the way down: m.Content[i] is the key, i+1 its value.
type step struct {
	m *yaml.Node
	i int
}

// lineEdit is the text being spliced. Its lines change; the stream's stay
// as parsed, so node positions and trimEnd keep meaning the original text
// (hence edits go from the bottom up).
type lineEdit struct {
	*stream
	lines []string
}

// replace puts text in place of lines [start, end) (1-based).
func (e *lineEdit) replace(start, end int, text string) {
	var repl []string
	if text != "" {
		repl = strings.SplitAfter(text, "\n")
		repl = repl[:len(repl)-1] // text ends with a line break
	}
	e.lines = slices.Concat(e.lines[:start-1], repl, e.lines[end-1:])
}

func (e *lineEdit) text() string {
	out := strings.Join(e.lines, "")
	if !e.finalEOL {
		out = strings.TrimSuffix(out, e.eol)
	}
	return out
}

// splice makes the edit on the text; ok is false where the document's shape
// needs the node-tree edit instead.
func (s *stream) splice(path []string, name string, item *yaml.Node) (string, bool) {
	if !s.lineWise {
		return "", false
	}
	e := &lineEdit{stream: s, lines: slices.Clone(s.lines)}
	if s.root == nil {
		if item == nil {
			return "", false
		}
		return e.insert(s.end, path, 0, item)
	}
	m := s.root
	var steps []step
	for depth, key := range path {
		if m.Style&yaml.FlowStyle != 0 || len(m.Content) == 0 {
			return "", false
		}
		i := keyIndex(m, key)
		if i < 0 {
			if item == nil {
				return "", false
			}
			// A new key at the end of the mapping, aligned with its keys.
			at := s.end
			if len(steps) > 0 {
				at = s.trimEnd(m.Content[len(m.Content)-2].Line, s.after(steps))
			}
			return e.insert(at, path[depth:], m.Content[0].Column-1, item)
		}
		steps = append(steps, step{m, i})
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind == yaml.AliasNode || v.Anchor != "" {
			return "", false
		}
		if isNull(v) {
			// "key:" with nothing after it: what is missing goes on the
			// lines below, items aligned with the key as in "key:\n- item".
			if item == nil || v.Value != "" || v.Style&yaml.TaggedStyle != 0 {
				return "", false
			}
			if depth == len(path)-1 {
				return e.insert(k.Line+1, nil, k.Column-1, item)
			}
			return e.insert(k.Line+1, path[depth+1:], k.Column+1, item)
		}
		if depth < len(path)-1 {
			m = v
			continue
		}
		return e.spliceList(steps, v, name, item)
	}
	return "", false
}

// spliceList edits the block sequence seq, the value at the end of steps.
func (e *lineEdit) spliceList(steps []step, seq *yaml.Node, name string, item *yaml.Node) (string, bool) {
	if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
		return "", false
	}
	// Each item runs from the line of its dash to the next item's, less
	// the blank and comment lines that lead into what follows.
	starts := make([]int, len(seq.Content))
	dashes := make([]int, len(seq.Content))
	for i, it := range seq.Content {
		if it.Line < 1 || it.Line > len(e.stream.lines) {
			return "", false
		}
		line := e.stream.lines[it.Line-1]
		dash := strings.IndexByte(line, '-')
		if dash < 0 || strings.TrimLeft(line[:dash], " ") != "" || dash >= it.Column-1 {
			return "", false
		}
		starts[i], dashes[i] = it.Line, dash
	}
	end := func(i int) int {
		if i+1 < len(starts) {
			return e.trimEnd(starts[i], starts[i+1])
		}
		return e.trimEnd(starts[i], e.after(steps))
	}
	var ours []int
	for i, it := range seq.Content {
		if itemName(it) == name {
			ours = append(ours, i)
		}
	}
	last := len(seq.Content) - 1
	switch {
	case item == nil && len(ours) == len(seq.Content):
		// The list was only ours: the key goes with it, and so does each
		// enclosing key whose mapping it leaves empty.
		j := len(steps) - 1
		for j > 0 && len(steps[j].m.Content) == 2 {
			j--
		}
		e.replace(steps[j].m.Content[steps[j].i].Line, end(last), "")
		if strings.TrimSpace(e.text()) == "" {
			return "", true
		}
		return e.text(), true
	case item == nil:
		for _, i := range slices.Backward(ours) {
			e.replace(starts[i], end(i), "")
		}
		return e.text(), true
	case len(ours) == 0:
		text, err := e.itemText(item, dashes[last])
		if err != nil {
			return "", false
		}
		at := end(last)
		e.replace(at, at, text)
		return e.text(), true
	default:
		text, err := e.itemText(item, dashes[ours[0]])
		if err != nil {
			return "", false
		}
		for _, i := range slices.Backward(ours[1:]) {
			e.replace(starts[i], end(i), "")
		}
		e.replace(starts[ours[0]], end(ours[0]), text)
		return e.text(), true
	}
}

// insert adds keys, nested from indent down, ending in a list holding
// item, before line at. With no keys, item is a list item at indent.
func (e *lineEdit) insert(at int, keys []string, indent int, item *yaml.Node) (string, bool) {
	var b strings.Builder
	for i, key := range keys {
		if i > 0 {
			indent += 2
		}
		k, err := encodeBlock(key)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(&b, "%s%s:%s", strings.Repeat(" ", indent), strings.TrimSuffix(k, "\n"), e.eol)
	}
	text, err := e.itemText(item, indent)
	if err != nil {
		return "", false
	}
	b.WriteString(text)
	e.replace(at, at, b.String())
	return e.text(), true
}

// after is the line where whatever follows the value at the end of steps
// starts: the next key of its mapping or of an enclosing one, or the end
// of the document.
func (s *stream) after(steps []step) int {
	for _, st := range slices.Backward(steps) {
		if st.i+2 < len(st.m.Content) {
			return st.m.Content[st.i+2].Line
		}
	}
	return s.end
}

// trimEnd moves end (exclusive, 1-based) back over blank and comment-only
// lines, which belong to what follows rather than to what precedes, but
// not to or before line start.
func (s *stream) trimEnd(start, end int) int {
	for end-1 > start {
		t := strings.TrimSpace(s.lines[end-2])
		if t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		end--
	}
	return end
}

// itemText renders item as a block sequence item whose dash is at column
// indent, with the document's line breaks.
func (s *stream) itemText(item *yaml.Node, indent int) (string, error) {
	body, err := encodeBlock(item)
	if err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		lead := "  "
		if i == 0 {
			lead = "- "
		}
		b.WriteString(pad + lead + line + s.eol)
	}
	return b.String(), nil
}

func encodeBlock(v any) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// rewrite makes the edit on the node tree and encodes the whole stream
// again; ok is false where the tree does not hold what the data does (a
// key that comes from a merge key). It consumes s.docs.
func (s *stream) rewrite(path []string, name string, item *yaml.Node) (string, bool) {
	if len(s.docs) == 0 {
		s.docs = []*yaml.Node{{Kind: yaml.DocumentNode}}
	}
	doc := s.docs[0]
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode}}
	}
	m := doc.Content[0]
	var steps []step
	var seq *yaml.Node
	for depth, key := range path {
		last := depth == len(path)-1
		fresh := func() *yaml.Node {
			if last {
				return &yaml.Node{Kind: yaml.SequenceNode}
			}
			return &yaml.Node{Kind: yaml.MappingNode}
		}
		i := keyIndex(m, key)
		if i < 0 {
			if item == nil {
				return "", false
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, fresh())
			i = len(m.Content) - 2
		}
		v := resolveAlias(m.Content[i+1])
		if isNull(v) {
			n := fresh()
			n.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = n
			v = n
		}
		if (last && v.Kind != yaml.SequenceNode) || (!last && v.Kind != yaml.MappingNode) {
			return "", false
		}
		steps = append(steps, step{m, i})
		if last {
			seq = v
		} else {
			m = v
		}
	}
	var out []*yaml.Node
	placed := false
	for _, it := range seq.Content {
		if itemName(it) != name {
			out = append(out, it)
		} else if item != nil && !placed {
			out = append(out, item)
			placed = true
		}
	}
	if item != nil {
		if !placed {
			out = append(out, item)
		}
		// Our entry is a block mapping; a flow list around it would put
		// the whole list on one line.
		seq.Style &^= yaml.FlowStyle
	}
	seq.Content = out
	if len(out) == 0 {
		for j := len(steps) - 1; j >= 0; j-- {
			st := steps[j]
			st.m.Content = slices.Delete(st.m.Content, st.i, st.i+2)
			if j > 0 && len(st.m.Content) > 0 {
				break
			}
		}
	}
	if len(s.docs) == 1 && len(doc.Content[0].Content) == 0 {
		return "", true
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range s.docs {
		if err := enc.Encode(d); err != nil {
			return "", false
		}
	}
	if err := enc.Close(); err != nil {
		return "", false
	}
	text := buf.String()
	if s.eol != "\n" {
		text = strings.ReplaceAll(text, "\n", s.eol)
	}
	if !s.finalEOL {
		text = strings.TrimSuffix(text, s.eol)
	}
	return text, true
}

// keyIndex is the index in m.Content of the plain key named key, or -1.
func keyIndex(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!str" && k.Value == key {
			return i
		}
	}
	return -1
}

// itemName is the name of a list item: its "name" key, when a string.
func itemName(item *yaml.Node) string {
	item = resolveAlias(item)
	i := keyIndex(item, "name")
	if i < 0 {
		return ""
	}
	v := resolveAlias(item.Content[i+1])
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		return ""
	}
	return v.Value
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names the kind of a value for error messages.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		// Not the value itself: it may be a credential in a URL.
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a scalar (" + n.ShortTag() + ")"
	}
	return "not a value"
}
