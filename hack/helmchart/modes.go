package main

import (
	"fmt"
	"reflect"
	"strings"
)

// watchedCondition is the Helm condition of the watched-namespaces install
// (config/namespaced); its negation is the all-namespaces one
// (config/default).
const watchedCondition = "$.Values.watchNamespaces"

// mergeModes returns the object of config/default with what config/namespaced
// adds to it kept under watchedCondition. config/namespaced may only add list
// items (the manager's arguments and environment); any other difference is
// one the chart could not express, and an error, so that a change of
// config/namespaced is never dropped from the chart unnoticed. extra turns
// each added item into what the chart renders.
func mergeModes(t *template, all, watched any, path string, extra func(any) any) (any, error) {
	switch a := all.(type) {
	case map[string]any:
		w, ok := watched.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: config/namespaced has %T where config/default has an object", path, watched)
		}
		for k := range w {
			if _, ok := a[k]; !ok {
				return nil, fmt.Errorf("%s.%s: only config/namespaced sets it", path, k)
			}
		}
		for k, v := range a {
			wv, ok := w[k]
			if !ok {
				return nil, fmt.Errorf("%s.%s: config/namespaced drops it", path, k)
			}
			m, err := mergeModes(t, v, wv, path+"."+k, extra)
			if err != nil {
				return nil, err
			}
			a[k] = m
		}
		return a, nil
	case []any:
		w, ok := watched.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: config/namespaced has %T where config/default has a list", path, watched)
		}
		if len(a) == len(w) {
			for i := range a {
				m, err := mergeModes(t, a[i], w[i], fmt.Sprintf("%s[%d]", path, i), extra)
				if err != nil {
					return nil, err
				}
				a[i] = m
			}
			return a, nil
		}
		return mergeList(t, a, w, path, extra)
	default:
		if !reflect.DeepEqual(all, watched) {
			return nil, fmt.Errorf("%s: config/default has %v, config/namespaced %v", path, all, watched)
		}
		return all, nil
	}
}

// mergeList keeps every item of all in its place and puts each run of items
// only watched has, in its place, under watchedCondition.
func mergeList(t *template, all, watched []any, path string, extra func(any) any) ([]any, error) {
	var out, run []any
	flush := func() {
		if len(run) > 0 {
			out = append(out, t.when(watchedCondition, run...)...)
			run = nil
		}
	}
	i := 0
	for _, w := range watched {
		if i < len(all) && reflect.DeepEqual(all[i], w) {
			flush()
			out = append(out, all[i])
			i++
			continue
		}
		run = append(run, extra(w))
	}
	flush()
	if i < len(all) {
		return nil, fmt.Errorf("%s: config/namespaced changes or drops %v, it may only add items", path, describe(all[i]))
	}
	return out, nil
}

func describe(v any) string {
	if m, ok := v.(map[string]any); ok {
		if name, ok := m["name"].(string); ok {
			return "the item named " + name
		}
	}
	return strings.TrimSpace(fmt.Sprint(v))
}
