{{/*
The chart's name: "orgrbac" unless nameOverride.
*/}}
{{- define "orgrbac.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name, prefix of the objects' names: the release name when it contains the
chart's name ("orgrbac", "orgrbac-prod"), "<release>-orgrbac" otherwise, or
fullnameOverride. At most 47 characters, so that "<full name>-webhook-service" is a
valid Service name (63).
*/}}
{{- define "orgrbac.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 47 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 47 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "orgrbac.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels of every object.
*/}}
{{- define "orgrbac.labels" -}}
helm.sh/chart: {{ include "orgrbac.chart" . }}
app.kubernetes.io/name: {{ include "orgrbac.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: orgrbac
{{- end }}

{{/*
The manager pods' labels that the Deployment, the Services and the
PodDisruptionBudget select.
*/}}
{{- define "orgrbac.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orgrbac.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/*
Names shared by several templates.
*/}}
{{- define "orgrbac.managerName" -}}
{{ include "orgrbac.fullname" . }}-controller-manager
{{- end }}

{{- define "orgrbac.webhookServiceName" -}}
{{ include "orgrbac.fullname" . }}-webhook-service
{{- end }}

{{- define "orgrbac.apiServiceName" -}}
{{ include "orgrbac.fullname" . }}-api
{{- end }}

{{- define "orgrbac.metricsServiceName" -}}
{{ include "orgrbac.fullname" . }}-metrics
{{- end }}

{{- define "orgrbac.certSecretName" -}}
{{ include "orgrbac.fullname" . }}-webhook-server-cert
{{- end }}

{{- define "orgrbac.tokenSecretName" -}}
{{ include "orgrbac.fullname" . }}-token-signing-keys
{{- end }}

{{/*
The access-token flags, shared by the manager and the API's own Deployment.
*/}}
{{- define "orgrbac.tokenArgs" -}}
{{- with .Values.decisionAPI.accessTokens }}
{{- if .enabled }}
- --token-signing-secret={{ $.Release.Namespace }}/{{ include "orgrbac.tokenSecretName" $ }}
- {{ printf "--token-issuer=%s" (.issuer | default (printf "https://%s.%s.svc" (include "orgrbac.apiServiceName" $) $.Release.Namespace)) | quote }}
- {{ printf "--token-ttl=%s" .ttl | quote }}
- {{ printf "--token-key-rotation=%s" .keyRotation | quote }}
- {{ printf "--token-key-overlap=%s" .keyOverlap | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "orgrbac.webhookConfigurationName" -}}
{{ include "orgrbac.fullname" . }}-validating-webhook-configuration
{{- end }}

{{- define "orgrbac.mutatingWebhookConfigurationName" -}}
{{ include "orgrbac.fullname" . }}-mutating-webhook-configuration
{{- end }}

{{/*
Where the webhook server (and, with cert-manager, the decision API) reads tls.crt
and tls.key: the certificate Secret's mount.
*/}}
{{- define "orgrbac.certDir" -}}
/tmp/k8s-webhook-server/serving-certs
{{- end }}

{{/*
The manager's image: repository@digest when a digest is set, repository:tag
otherwise (the tag defaults to the chart's appVersion).
*/}}
{{- define "orgrbac.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
The manager's arguments. The webhook certificate settings are those of
config/default: rotated by the manager into the Secret, unless cert-manager issues
it.
*/}}
{{- define "orgrbac.args" -}}
- --leader-elect
- --metrics-bind-address=:8443
- --health-probe-bind-address=:8081
{{- if .Values.decisionAPI.separateDeployment.enabled }}
{{- /* The API's own Deployment serves it: no API (nor its index) here. */}}
- --api-bind-address=0
{{- else }}
- --api-bind-address=:8082
{{- end }}
- {{ printf "--api-token-audience=%s" .Values.decisionAPI.tokenAudience | quote }}
- {{ printf "--zap-log-level=%v" .Values.logLevel | quote }}
- --webhook-cert-dir={{ include "orgrbac.certDir" . }}
{{- if .Values.certManager.enabled }}
{{- /* The decision API (and /metrics) serve cert-manager's certificate, from the same Secret. */}}
- --api-cert-dir={{ include "orgrbac.certDir" . }}
{{- if .Values.serviceMonitor.enabled }}
- --metrics-cert-dir={{ include "orgrbac.certDir" . }}
{{- end }}
{{- else }}
{{- /* The manager rotates the certificate, valid for the API's (and the metrics) Service too. */}}
- --webhook-cert-secret={{ .Release.Namespace }}/{{ include "orgrbac.certSecretName" . }}
- --webhook-service={{ include "orgrbac.webhookServiceName" . }}
- --webhook-configuration={{ include "orgrbac.webhookConfigurationName" . }}
- --webhook-mutating-configuration={{ include "orgrbac.mutatingWebhookConfigurationName" . }}
- --api-service={{ include "orgrbac.apiServiceName" . }}
{{- if .Values.serviceMonitor.enabled }}
- --metrics-service={{ include "orgrbac.metricsServiceName" . }}
{{- end }}
{{- end }}
{{- with .Values.decisionAPI.caConfigMap }}
- {{ printf "--api-ca-configmap=%s" . | quote }}
{{- end }}
{{- if .Values.webhook.clientCAConfigMap }}
- --webhook-client-ca=/etc/orgrbac/webhook-client-ca/ca.crt
{{- end }}
{{- include "orgrbac.tokenArgs" . }}
- {{ printf "--webhook-destinations=%s" .Values.changeEvents.webhookDestinations | quote }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The decision API's own Deployment (decisionAPI.separateDeployment): its name (also
its ServiceAccount's), the labels its Deployment selects, and its arguments. It
serves the certificate of the mounted Secret (rotated by the manager, which keeps
it valid for the Service <full name>-api, or cert-manager's), /metrics too.
*/}}
{{- define "orgrbac.apiName" -}}
{{ include "orgrbac.fullname" . }}-api
{{- end }}

{{- define "orgrbac.apiSelectorLabels" -}}
app.kubernetes.io/name: {{ include "orgrbac.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end }}

{{- define "orgrbac.apiArgs" -}}
- --enable-controllers=false
- --enable-webhooks=false
- --metrics-bind-address=:8443
- --health-probe-bind-address=:8081
- --api-bind-address=:8082
- {{ printf "--api-token-audience=%s" .Values.decisionAPI.tokenAudience | quote }}
- {{ printf "--zap-log-level=%v" .Values.logLevel | quote }}
- --api-cert-dir={{ include "orgrbac.certDir" . }}
- --metrics-cert-dir={{ include "orgrbac.certDir" . }}
{{- include "orgrbac.tokenArgs" . }}
{{- range .Values.decisionAPI.separateDeployment.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The annotations of the post-delete hook's objects; the argument is the weight.
*/}}
{{- define "orgrbac.uninstallHook" -}}
helm.sh/hook: post-delete
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
