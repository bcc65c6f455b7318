# The project's own addons, built by `npm ci`/`npm install`, all on Node-API alone (one
# build loads on every Node.js line). Capture process: the raw-socket reader
# (native/rawrecv.c), the libpcap reader for --interface (native/pcaprecv.c), the
# account lookup and chroot of the privilege drop (native/privdrop.c), and its fresh
# start under its first filter (native/exec.c). Monitor: the syslog socket
# (native/syslogsock.c). Both halves: the process attributes and sandboxes
# (native/procctl.c, native/sandbox.c, whose filters libseccomp compiles: libseccomp-dev
# at build time, libseccomp2 at run time).
#
# The libpcap reader is built only where libpcap's headers are (Debian: libpcap-dev),
# as the libpcap binding was an optional dependency before it: without them `npm ci`
# still succeeds, and --interface says at start that the reader was not built.
{
  "variables": {
    "have_libpcap": "<!(echo '#include <pcap/pcap.h>' | ${CC:-cc} -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)",
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
      "sources": ["native/procctl.c", "native/sandbox.c", "native/exec.c", "native/pages.c", "native/addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lseccomp"]
    }
  ],
  "conditions": [
    [
      "have_libpcap == 1",
      {
        "targets": [
          {
            "target_name": "pcaprecv",
            "sources": ["native/pcaprecv.c", "native/batch.c", "native/addon.c"],
            "cflags": ["<@(addon_cflags)"],
            "libraries": ["-lpcap"]
          }
        ]
      }
    ]
  ]
}
