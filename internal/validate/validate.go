// Package validate checks a KialiAuthProxy against the CRD's schema, CEL
// rules included, without an API server: the offline render command rejects
// what `kubectl apply` would reject, with the same messages.
package validate

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/config/crd"
)

type validators struct {
	structural *structuralschema.Structural
	schema     apivalidation.SchemaValidator
	cel        *cel.Validator
}

var (
	once    sync.Once
	loaded  *validators
	errLoad error
)

func load() (*validators, error) {
	once.Do(func() {
		def := &apiextensionsv1.CustomResourceDefinition{}
		if errLoad = yaml.UnmarshalStrict(crd.KialiAuthProxy, def); errLoad != nil {
			return
		}
		internal := &apiextensions.CustomResourceValidation{}
		if errLoad = apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(
			def.Spec.Versions[0].Schema, internal, nil); errLoad != nil {
			return
		}
		v := &validators{}
		if v.structural, errLoad = structuralschema.NewStructural(internal.OpenAPIV3Schema); errLoad != nil {
			return
		}
		if v.schema, _, errLoad = apivalidation.NewSchemaValidator(internal.OpenAPIV3Schema); errLoad != nil {
			return
		}
		v.cel = cel.NewValidator(v.structural, true, celconfig.PerCallLimit)
		loaded = v
	})
	return loaded, errLoad
}

// Object validates a KialiAuthProxy given as a JSON-like map (as decoded
// from YAML). Fields the schema does not know are reported too: the API
// server would drop them silently, which hides typos.
func Object(ctx context.Context, obj map[string]any) (field.ErrorList, error) {
	return Update(ctx, obj, nil)
}

// Update validates obj as an update of old (nil for a create): transition
// rules, which compare a field with its stored value, run only on updates.
func Update(ctx context.Context, obj, old map[string]any) (field.ErrorList, error) {
	v, err := load()
	if err != nil {
		return nil, fmt.Errorf("loading the CRD schema: %w", err)
	}
	var errs field.ErrorList
	pruned := deepCopy(obj)
	for _, p := range structuralpruning.PruneWithOptions(pruned, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, field.Invalid(field.NewPath(p), field.OmitValueType{}, "unknown field (the API server would drop it: check the spelling)"))
	}
	errs = append(errs, apivalidation.ValidateCustomResource(nil, obj, v.schema)...)
	var oldObj any
	if old != nil {
		oldObj = old
	}
	celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...), nil
}

func deepCopy(m map[string]any) map[string]any {
	raw, _ := yaml.Marshal(m)
	out := map[string]any{}
	_ = yaml.Unmarshal(raw, &out)
	return out
}
