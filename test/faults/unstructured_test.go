package faults

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// unstructuredList is an empty list of "group/version/KindList" (core
// kinds: "v1/KindList").
func unstructuredList(gvk string) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(unstructuredObject(gvk).GroupVersionKind())
	return l
}

// unstructuredObject is an empty object of "group/version/Kind".
func unstructuredObject(gvk string) *unstructured.Unstructured {
	i := strings.LastIndexByte(gvk, '/')
	gv, err := schema.ParseGroupVersion(gvk[:i])
	if err != nil {
		panic(err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gv.WithKind(gvk[i+1:]))
	return u
}
