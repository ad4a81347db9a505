package apply

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Document converts an object to the exact document that is applied: typed Go structs serialise zero values such as
// "creationTimestamp: null" and "status: {}", which server-side apply would
// record as fields we own and report as changes on every reconcile, so they
// are trimmed here.
func Document(obj client.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		out := u.DeepCopy()
		trim(out.Object)
		return out, nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T %s: %w", obj, obj.GetName(), err)
	}
	m := map[string]any{}
	// util/json keeps integers as int64, as the API machinery expects.
	if err := utiljson.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding %T %s: %w", obj, obj.GetName(), err)
	}
	trim(m)
	return &unstructured.Unstructured{Object: m}, nil
}

func trim(m map[string]any) {
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if spec, ok := m["spec"].(map[string]any); ok {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			if md, ok := tmpl["metadata"].(map[string]any); ok {
				delete(md, "creationTimestamp")
			}
		}
	}
}

// YAML serialises objects as one YAML stream of the documents Document
// makes, in the given order: what apply would write, for reading or review.
func YAML(objs []client.Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		u, err := Document(o)
		if err != nil {
			return nil, err
		}
		doc, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}
