# shared.sh — the third-party inputs the tests read from ../shared (sourced by run_all.sh
# and lib.sh, from the repository root). A missing file is a failure, never a skip:
#   SHARED                     the folder: $SHARED when set, else ../shared (exported)
#   need_shared FILE           true when FILE exists; otherwise prints one line to stderr
#                              naming FILE and how to provide it, and returns 1
#   shared_missing_msg FILE    that line
SHARED=${SHARED:-../shared}
export SHARED

# shared_origin REL: the public origin of a file under $SHARED (see ../shared/README.md),
# checked to be byte-identical (sha256) to the shared copy.
shared_origin() {
  case $1 in
    models/stories260K/stories260K_v1.bin)
      echo https://raw.githubusercontent.com/clebert/llama2.zig/46af05d7ed3e37b41b9049a4cc5c092c8a683a29/models/tinystories_260k/checkpoint_v1.bin ;;
    models/tokenizers/tok32000.bin)
      echo https://raw.githubusercontent.com/karpathy/llama2.c/350e04fe35433e6d2941dce5a1f53308f87058eb/tokenizer.bin ;;
  esac
}

shared_missing_msg() {
  local file=$1 rel=${1#"$SHARED"/} origin
  origin=$(shared_origin "$rel")
  printf 'MISSING %s: this test needs it and FAILS without it. Provide it: put the shared folder beside the repository (../shared), or run with SHARED=/path/to/shared' "$file"
  [ -n "$origin" ] && printf ', or fetch it from its public origin: curl -fL --create-dirs -o %s %s' "$file" "$origin"
  printf '\n'
}

need_shared() {
  [ -f "$1" ] && return 0
  shared_missing_msg "$1" >&2
  return 1
}
