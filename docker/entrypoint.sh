#!/bin/sh
# Entry point of the Deskmate image: put the KB and the KB build made at image build time into the
# data folders, then run the command (default: `deskmate serve`).
#
# The image keeps them in /opt/deskmate/seed. The KB folder and the builds folder are volumes that
# replicas share and that start out empty, so:
#   - the demo KB is copied into DESKMATE_KB_PATH when that folder has no kb.yml and holds nothing but
#     demo KB files (a new volume, or one that another replica is filling right now); a KB of your own
#     mounted there is never touched;
#   - each baked build is copied into DESKMATE_BUILDS_DIR unless a build with its id is there (builds
#     are immutable and named by their content, so a newer image adds its own build beside the old).
# Every file and every build appears under its final name in one rename, and a build's manifest.json
# is its last file, so a replica starting at the same moment never reads half of one. `deskmate
# serve` then finds the build of its KB and starts in seconds instead of training the model.
set -eu

seed=/opt/deskmate/seed
kb_dir=${DESKMATE_KB_PATH:-/data/kb}
builds_dir=${DESKMATE_BUILDS_DIR:-${DESKMATE_DATA_DIR:-/data}/builds}
temp_prefix=".seed-$(uname -n)-$$"  # unique per container: pids repeat across containers

say() {
    echo "deskmate-entrypoint: $*" >&2
}

require_writable() {
    if ! mkdir -p "$1" 2>/dev/null || ! [ -w "$1" ]; then
        say "error: $1 is not writable by uid $(id -u); give the volume or folder to it, e.g." \
            "docker run --rm -u 0 -v VOLUME:/x --entrypoint chown IMAGE -R $(id -u):$(id -g) /x"
        exit 1
    fi
}

only_demo_files() {  # is every entry of folder $1 a demo KB file or one being copied?
    for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        [ -e "$entry" ] || continue
        name=${entry##*/}
        case $name in
            .seed-*) ;;
            *) [ -e "$seed/kb/$name" ] || return 1 ;;
        esac
    done
    return 0
}

copy_file() {  # copy_file SOURCE FOLDER: SOURCE appears in FOLDER in one rename
    cp "$1" "$2/$temp_prefix-${1##*/}"
    mv -f "$2/$temp_prefix-${1##*/}" "$2/${1##*/}"
}

if [ -d "$seed/kb" ] && [ -d "$kb_dir" ] && ! [ -e "$kb_dir/kb.yml" ] && only_demo_files "$kb_dir"; then
    require_writable "$kb_dir"
    for file in "$seed"/kb/*; do
        if [ -f "$file" ] && [ "${file##*/}" != kb.yml ]; then
            copy_file "$file" "$kb_dir"
        fi
    done
    copy_file "$seed/kb/kb.yml" "$kb_dir"  # last: a KB folder with kb.yml is complete
    say "copied the demo KB into $kb_dir"
fi

require_writable "$builds_dir"
for build in "$seed"/builds/*; do
    [ -f "$build/manifest.json" ] || continue
    id=${build##*/}
    [ -e "$builds_dir/$id/manifest.json" ] && continue
    temp="$builds_dir/$temp_prefix-$id"
    rm -rf "$temp"
    mkdir "$temp"
    for part in "$build"/*; do
        [ "${part##*/}" = manifest.json ] || cp -R "$part" "$temp/"
    done
    cp "$build/manifest.json" "$temp/manifest.json"
    if mv -T "$temp" "$builds_dir/$id" 2>/dev/null; then
        say "added the image's KB build $id to $builds_dir"
    else
        rm -rf "$temp"  # another replica added it first
    fi
done

exec "$@"
