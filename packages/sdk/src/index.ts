/**
 * @strongroom/sdk — the TypeScript client for strongroom, wire-compatible with the Alibaba Cloud
 * IDaaS PAM developer API 2022-02-25. The client itself lands with the SDK issue; this package
 * exists now so the workspace, its build and its dependency rules are in place from the start.
 */
export const SDK_VERSION = '0.1.0'
