{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "steward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "steward.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "steward.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "steward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "steward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "steward.labels" -}}
helm.sh/chart: {{ include "steward.chart" . }}
{{ include "steward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: steward
{{- end }}

{{- define "steward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "steward.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "steward.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* "true" when the database is PostgreSQL from a Secret, "" for SQLite in /data. */}}
{{- define "steward.postgres" -}}
{{- if .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/* "true" when no identity provider is configured: development auth (local HS256 secret). */}}
{{- define "steward.devAuth" -}}
{{- if not (or .Values.auth.jwksUrl .Values.auth.jwksUrlSecret.name) }}true{{ end }}
{{- end }}

{{/* Where the audit signing key Secret is mounted. */}}
{{- define "steward.auditKeyDir" -}}/etc/steward/audit{{- end }}

{{/*
Combinations the server refuses or that lose data; failing at render time says why at once
instead of a crash-looping pod.
*/}}
{{- define "steward.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.database.existingSecret) }}
{{- fail "replicaCount > 1 needs PostgreSQL: set database.existingSecret to a Secret holding the postgres:// URL (SQLite lives in one pod's /data), or set replicaCount: 1" }}
{{- end }}
{{- if and .Values.database.existingSecret (not .Values.audit.signingKey.existingSecret) }}
{{- fail "PostgreSQL (database.existingSecret) needs audit.signingKey.existingSecret: every replica must sign audit checkpoints with the same Ed25519 key (openssl genpkey -algorithm ed25519 -out audit-ed25519.pem; kubectl create secret generic steward-audit-signing-key --from-file=audit-ed25519.pem)" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.auth.jwksUrl) (not .Values.auth.jwksUrlSecret.name) }}
{{- fail "replicaCount > 1 needs an identity provider (auth.jwksUrl or auth.jwksUrlSecret.name): in development auth each pod would verify tokens with its own local secret, so a token would work on one pod and fail on the next; or set replicaCount: 1 to try Steward" }}
{{- end }}
{{- if and .Values.auth.jwksUrl .Values.auth.jwksUrlSecret.name }}
{{- fail "set either auth.jwksUrl or auth.jwksUrlSecret.name, not both" }}
{{- end }}
{{- if and .Values.persistence.enabled (gt (int .Values.replicaCount) 1) }}
{{- fail "persistence.enabled mounts one ReadWriteOnce volume, for a single pod (SQLite); with replicaCount > 1 (PostgreSQL) /data holds nothing to keep: set persistence.enabled: false" }}
{{- end }}
{{- end }}
