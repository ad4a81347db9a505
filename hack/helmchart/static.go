package main

import (
	"bytes"
	"embed"
	"io/fs"
	"strings"
	gotemplate "text/template"
)

// chart holds the files of the chart that are not made from config/: its
// metadata, values, helpers and README. Files ending in .tmpl are Go
// templates (delimiters [[ ]], so that Helm's {{ }} stand out as Helm's)
// filled in with the version and the defaults config/ sets.
//
//go:embed all:chart
var chart embed.FS

// staticFiles returns the chart's files that are not objects of config/.
func staticFiles(o Options, d defaults) (map[string][]byte, error) {
	data := struct {
		Version, AppVersion, ImageRepository string
		defaults
	}{o.Version, "v" + o.Version, imageRepository, d}
	data.Resources = indent(d.Resources, "  ")
	files := map[string][]byte{}
	err := fs.WalkDir(chart, "chart", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		raw, err := chart.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "chart/")
		if strings.HasSuffix(name, ".tmpl") {
			t, err := gotemplate.New(name).Delims("[[", "]]").Option("missingkey=error").Parse(string(raw))
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := t.Execute(&b, data); err != nil {
				return err
			}
			name, raw = strings.TrimSuffix(name, ".tmpl"), b.Bytes()
		}
		files[name] = raw
		return nil
	})
	return files, err
}

// indent indents every line of the YAML text, to nest it under a key.
func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
