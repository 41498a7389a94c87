"""The promotion screen's content (宣传辅助屏, §6.3 b): signed manifests, their media
downloaded and checked, versions installed atomically beside the previous one."""
