# The project's own addons, built by `npm ci`/`npm install`, on Node-API. Capture
# process: the raw-socket reader (native/rawrecv.c on native/batch.c) and the account
# lookup and chroot of the privilege drop (native/privdrop.c). Monitor: the syslog
# socket (native/syslogsock.c). Both halves: the process attributes and sandboxes
# (native/procctl.c, native/sandbox.c).
{
  "variables": {
    "addon_cflags": ["-O2", "-Wall", "-Wextra", "-fvisibility=hidden"]
  },
  "targets": [
    {
      "target_name": "rawrecv",
      "sources": ["native/rawrecv.c", "native/batch.c", "native/addon.c"],
      "cflags": ["<@(addon_cflags)"]
    },
    {
      "target_name": "privdrop",
      "sources": ["native/privdrop.c", "native/addon.c"],
      "cflags": ["<@(addon_cflags)"]
    },
    {
      "target_name": "syslogsock",
      "sources": ["native/syslogsock.c", "native/addon.c"],
      "cflags": ["<@(addon_cflags)"]
    },
    {
      "target_name": "procctl",
      "sources": ["native/procctl.c", "native/sandbox.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
