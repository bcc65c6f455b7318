# The project's own addons, built by `npm ci`/`npm install`: the capture process's
# raw-socket reader (native/rawrecv.c) and the process attributes and
# sandboxes both halves set (native/procctl.c, native/sandbox.c), and the capture
# process's fresh start under its first filter (native/exec.c).
{
  "targets": [
    {
      "target_name": "rawrecv",
      "sources": ["native/rawrecv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "procctl",
      "sources": ["native/procctl.c", "native/sandbox.c", "native/exec.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
