# The capture process's raw-socket reader (native/rawrecv.c), built by `npm ci`/`npm install`.
{
  "targets": [
    {
      "target_name": "rawrecv",
      "sources": ["native/rawrecv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
