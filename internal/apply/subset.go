package apply

import (
	"fmt"
	"reflect"
)

// isSubset reports whether every field of desired has the same value in
// live. It is the test for "applying desired would change nothing we own":
// live may carry more (server defaults, fields owned by other managers), but
// every value we set must be there.
//
// Lists of objects whose elements carry a "name" or "uid" are matched by that
// key, as server-side apply merges them: other managers may add elements.
// Any other list is atomic for server-side apply and must match exactly.
func isSubset(desired, live any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return isEmpty(d) && isEmpty(live)
		}
		for k, dv := range d {
			lv, present := l[k]
			if !present {
				if isEmpty(dv) {
					continue
				}
				return false
			}
			if !isSubset(dv, lv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return len(d) == 0 && isEmpty(live)
		}
		if key := listKey(d); key != "" {
			return keyedSubset(key, d, l)
		}
		if len(d) != len(l) {
			return false
		}
		for i := range d {
			if !isSubset(d[i], l[i]) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(desired, live)
	}
}

func keyedSubset(key string, desired, live []any) bool {
	byKey := make(map[any]any, len(live))
	for _, e := range live {
		if m, ok := e.(map[string]any); ok {
			byKey[m[key]] = e
		}
	}
	for _, e := range desired {
		l, ok := byKey[e.(map[string]any)[key]]
		if !ok || !isSubset(e, l) {
			return false
		}
	}
	return true
}

// listKey is the merge key of a list of objects, or "" for an atomic list.
func listKey(l []any) string {
	for _, key := range []string{"uid", "name"} {
		keyed := len(l) > 0
		for _, e := range l {
			m, ok := e.(map[string]any)
			if !ok {
				return ""
			}
			if _, has := m[key]; !has {
				keyed = false
				break
			}
		}
		if keyed {
			return key
		}
	}
	return ""
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// scalarEqual compares JSON scalars, treating integers and floats of the
// same value as equal (decoders differ in which they produce).
func scalarEqual(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
