#!/usr/bin/env bash
# Regenerates every generated file of the module: deepcopy and CRDs of the
# foresight.dev API (controller-gen), its typed clientset, listers and
# informers (k8s.io/code-generator), and the deepcopy, defaulting and
# conversion code of the scheduler plugin arguments. All generators are
# pinned as tools in go.mod and run with `go tool`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

module="$(go list -m)"
boilerplate="hack/boilerplate.go.txt"
api_pkg="${module}/pkg/apis/foresight/v1alpha1"
out_pkg="${module}/pkg/generated"

# foresight.dev API: deepcopy and CRD manifests.
rm -f pkg/apis/foresight/v1alpha1/zz_generated.deepcopy.go manifests/crds/foresight.dev_*.yaml
go tool controller-gen \
  object:headerFile="${boilerplate}" \
  crd:crdVersions=v1 \
  paths=./pkg/apis/... \
  output:crd:artifacts:config=manifests/crds

# Typed clients, listers and informers.
rm -rf pkg/generated
go tool client-gen \
  --go-header-file "${boilerplate}" \
  --output-dir pkg/generated/clientset \
  --output-pkg "${out_pkg}/clientset" \
  --clientset-name versioned \
  --input-base "${module}/pkg/apis" \
  --input foresight/v1alpha1
go tool lister-gen \
  --go-header-file "${boilerplate}" \
  --output-dir pkg/generated/listers \
  --output-pkg "${out_pkg}/listers" \
  "${api_pkg}"
go tool informer-gen \
  --go-header-file "${boilerplate}" \
  --output-dir pkg/generated/informers \
  --output-pkg "${out_pkg}/informers" \
  --versioned-clientset-package "${out_pkg}/clientset/versioned" \
  --listers-package "${out_pkg}/listers" \
  "${api_pkg}"

# Scheduler plugin arguments: internal and v1 types.
args_dir=pkg/plugins/apis/config
if [ -d "${args_dir}" ]; then
  rm -f "${args_dir}"/zz_generated.*.go "${args_dir}"/v1/zz_generated.*.go
  go tool deepcopy-gen \
    --go-header-file "${boilerplate}" \
    --output-file zz_generated.deepcopy.go \
    "${module}/${args_dir}" "${module}/${args_dir}/v1"
  go tool defaulter-gen \
    --go-header-file "${boilerplate}" \
    --output-file zz_generated.defaults.go \
    "${module}/${args_dir}/v1"
  go tool conversion-gen \
    --go-header-file "${boilerplate}" \
    --output-file zz_generated.conversion.go \
    "${module}/${args_dir}/v1"
fi

# eBPF objects of the node agent (bpf2go, pinned as a tool). They need
# clang; the generated files are committed, so building never does.
if command -v clang >/dev/null 2>&1; then
  go generate ./pkg/profiler/ebpf
else
  echo "skipping the eBPF objects: clang is not installed (apt-get install -y --no-install-recommends clang llvm libbpf-dev)" >&2
fi
