package operator

// The rules below are the operator's only cluster-scoped permissions, in
// every install mode (config/rbac/cluster/role.yaml, the CSV's
// clusterPermissions): it notices the Kiali, Istio, Route and Prometheus
// Operator CRDs being installed or removed, to start or stop watching their
// kinds. Everything the reconciler reads or writes in a namespace is in
// internal/controller's markers (config/rbac/role.yaml), bound per watched
// namespace or cluster-wide depending on the install mode.

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch
//
// How OpenShift logs users in (internal/controller/loginmode.go): the one
// Authentication object, by name.
// +kubebuilder:rbac:groups=config.openshift.io,resources=authentications,resourceNames=cluster,verbs=get
