package webhooks

// The permissions of the delivery loops. internal/controller/rbac.go holds the
// same markers (every permission of the manager is listed there with its
// reason); they are repeated here beside the code that needs them, and
// controller-gen merges them into the one manager ClusterRole.
//
// The endpoints (cached, watched) and their progress (merge patches of the
// status subresource):
// +kubebuilder:rbac:groups=orgrbac.dev,resources=webhookendpoints,verbs=get;list;watch
// +kubebuilder:rbac:groups=orgrbac.dev,resources=webhookendpoints/status,verbs=get;update;patch
//
// The change-event log, read from the cache:
// +kubebuilder:rbac:groups=orgrbac.dev,resources=eventsegments,verbs=get;list;watch
//
// Warning events for given-up deliveries (controller-runtime's recorder writes
// events.k8s.io Events):
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// No Secret permission: each endpoint's signing Secret is read by name with
// the API reader (a direct GET, never cached: a Secret informer would hold
// every Secret of the cluster in the manager's memory and need list and watch
// on all of them). The manager may read it only in namespaces whose owner
// bound the ClusterRole orgrbac-webhook-secret-reader (get secrets,
// config/rbac/webhook_secret_reader_role.yaml) to it; elsewhere the endpoint
// says Ready=False, reason SecretForbidden.
