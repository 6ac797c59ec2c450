#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Mutation check of the unit tests: apply one small bug at a time to a copy
# of vhost/memtable.c or vhost/ring_split.c, rebuild the tests against it
# and expect them to fail.  A mutant that survives names a gap in the tests.
# Slow (a full rebuild per mutant), so not part of `make check`.
#
# Known equivalent mutant, left out: dropping split_map_desc()'s zero-length
# check changes nothing, kvhost_memtable_translate() refuses len 0 with the
# same -EINVAL.
#
#   mutants.sh [WORKDIR]          TAP on stdout, exit 1 if any survived
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$(mktemp -d)}
n=0
survived=0

# mutant FILE PERL-SUBSTITUTION DESCRIPTION
mutant() {
	file=$1 expr=$2 desc=$3
	n=$((n + 1))
	dir=$work/m$n
	rm -rf "$dir"
	mkdir -p "$dir/vhost"
	cp "$here"/../../vhost/*.[ch] "$dir/vhost/"
	perl -0pi -e "$expr" "$dir/vhost/$file"
	if cmp -s "$here/../../vhost/$file" "$dir/vhost/$file"; then
		echo "not ok $n - mutant did not apply: $desc"
		survived=$((survived + 1))
		return
	fi
	if ! make -s -C "$here" -j2 VHOST="$dir/vhost" OUT="$dir/out" CLANG= \
		all >"$dir/build.log" 2>&1; then
		echo "ok $n - killed (build fails): $desc"
		return
	fi
	if "$dir/out/test_memtable" >"$dir/run.log" 2>&1 &&
	   "$dir/out/test_ring_split" >>"$dir/run.log" 2>&1 &&
	   "$dir/out/fuzz_ring_replay" -n 20000 >>"$dir/run.log" 2>&1; then
		echo "not ok $n - SURVIVED: $desc"
		survived=$((survived + 1))
	else
		echo "ok $n - killed: $desc ($(grep -c '^not ok' "$dir/run.log") failing)"
	fi
	rm -rf "$dir/out"
}

M=memtable.c
R=ring_split.c
mutant $M 's/if \(!size \|\| src->flags_padding\)/if (!size)/' "flags_padding ignored"
mutant $M 's/if \(!size \|\| /if (/' "zero-size region accepted"
mutant $M 's/if \(size - 1 > U64_MAX - src->guest_phys_addr/if (size > U64_MAX - src->guest_phys_addr/' "gpa wrap check off by one"
mutant $M 's/\|\|\n(\s*)size - 1 > U64_MAX - src->userspace_addr/||\n$1size - 1 > U64_MAX - src->userspace_addr - 1/' "uaddr wrap check off by one"
mutant $M 's/if \(!access_ok\(/if (0 && !access_ok(/' "access_ok skipped"
mutant $M 's/mt->regions\[i\].gpa <= mt->regions\[i - 1\].gpa_last/mt->regions[i].gpa < mt->regions[i - 1].gpa_last/' "overlap by one byte accepted"
mutant $M 's/if \(nregions > max_regions\)/if (nregions > max_regions + 1)/' "max_regions off by one"
mutant $M 's/sort\(mt->regions/if (0) sort(mt->regions/' "regions not sorted"
mutant $M 's/if \(mt->regions\[mid\].gpa <= gpa\)/if (mt->regions[mid].gpa < gpa)/' "lookup misses a region's first byte"
mutant $M 's/gpa > mt->regions\[lo - 1\].gpa_last/gpa >= mt->regions[lo - 1].gpa_last/' "lookup misses a region's last byte"
mutant $M 's/if \(n == iov_max\)/if (n > iov_max)/' "translate overruns iov"
mutant $M 's/r->gpa_last - gpa \+ 1\)/r->gpa_last - gpa)/' "translate segment one byte short"
mutant $M 's/if \(!len \|\| len - 1 > U64_MAX - gpa\)\n(\s*)return -EINVAL;\n\n(\s*)while/if (!len)\n$1return -EINVAL;\n\n$2while/' "translate wrap unchecked"
mutant $M 's/uaddr - r->uaddr <= size/uaddr - r->uaddr < size/' "covers_uaddr misses a region's last byte"
mutant $M 's/seg = min_t\(u64, len, hit->gpa_last - hit->gpa - \(uaddr - hit->uaddr\) \+ 1\)/seg = len/' "covers_uaddr trusts one region for the whole range"
mutant $R 's/if \(\+\+steps > vr->num\)/if (++steps >= vr->num)/' "chain of exactly num refused"
mutant $R 's/if \(\+\+steps > vr->num\)/if (++steps > vr->num + 1)/' "loop detected a step late"
mutant $R 's/if \(\(u16\)\(idx - last\) > vr->num\)/if ((u16)(idx - last) > vr->num + 1)/' "avail idx num+1 ahead accepted"
mutant $R 's/if \(head >= vr->num\)/if (head > vr->num)/' "head == num accepted"
mutant $R 's/i = split16_to_cpu\(vr, d.next\);\n(\s*)if \(i >= vr->num\)/i = split16_to_cpu(vr, d.next);\n$1if (i > vr->num)/' "next == num accepted"
mutant $R 's/if \(!writable && chain->in_num\)/if (0)/' "readable after writable accepted"
mutant $R 's/if \(!kvhost_vring_has_feature\(vr, VIRTIO_RING_F_INDIRECT_DESC\)\)/if (0)/' "indirect without the feature accepted"
mutant $R 's/if \(split16_to_cpu\(vr, outer->flags\) & VRING_DESC_F_NEXT\)/if (0)/' "indirect with NEXT accepted"
mutant $R 's/len % sizeof\(struct vring_desc\)/len % 8/' "indirect len multiple of 8 accepted"
mutant $R 's/if \(count > KVHOST_INDIRECT_MAX\)/if (count > KVHOST_INDIRECT_MAX + 1)/' "32769-entry table accepted"
mutant $R 's/if \(len - 1 > U64_MAX - base\)/if (0)/' "indirect table wrap unchecked"
mutant $R 's/if \(\+\+seen > count\)/if (++seen > count + 1)/' "indirect loop detected a step late"
mutant $R 's/return -EINVAL;\t\t\/\* nested indirect \*\//ret = 0;/' "nested indirect accepted"
mutant $R 's/if \(i >= count\)/if (i > count)/' "indirect next == count accepted"
mutant $R 's/iov \+ used,\n(\s*)iov_max - used\)/iov + used,\n$1iov_max)/' "iov room not reduced by segments used"
mutant $R 's/chain->in_len \+= len;/chain->in_len += n;/' "in_len counts segments"
mutant $R 's/vr->last_avail_idx = last \+ 1;/vr->last_avail_idx = last + 2;/' "pop skips an entry"
mutant $R 's/vr->last_avail_idx -= n;/vr->last_avail_idx -= n > 1 ? 1 : n;/' "unpop gives back one"
mutant $R 's/vr->last_used_idx = split16_to_cpu\(vr, used_idx\);/vr->last_used_idx = 0 * split16_to_cpu(vr, used_idx);/' "start ignores used->idx"
mutant $R 's/vr->error = 0;/;/' "start keeps the old error"
mutant $R 's/first = min\(n, vr->num - start\);/first = n;/' "flush writes past the used ring end"
mutant $R 's/if \(\(u16\)\(new - vr->signalled_used\) < \(u16\)\(new - old\)\)/if (0)/' "stale signalled_used kept"
mutant $R 's/vr->used_batch_len = 0;\n\n/\n/' "flush republishes the batch"
mutant $R 's/(split_add_used[^{]*\{\n[^}]*?)\tif \(vr->error\)\n\t\treturn vr->error;\n/$1/' "add_used on a broken ring"
mutant $R 's/(split_flush[^{]*\{\n[^}]*?)\tif \(vr->error\)\n\t\treturn vr->error;\n/$1/' "flush on a broken ring"
mutant $R 's/if \(vr->used_batch_len == vr->used_batch_max\)/if (0)/' "no flush when the batch is full"
mutant $R 's/if \(!valid\)\n(\s*)return 1;/if (!valid && 0)\n$1return 1;/' "first event-idx decision trusts used_event"
mutant $R 's/return vring_need_event\(event, new, old\);/return vring_need_event(event + 1, new, old);/' "used_event off by one"
mutant $R 's/return !\(split16_to_cpu\(vr, v\) & VRING_AVAIL_F_NO_INTERRUPT\);/return 1;/' "NO_INTERRUPT ignored"
mutant $R 's/if \(idx == vr->last_avail_idx\)\n(\s*)return 1;/if (0)\n$1return 1;/' "NOTIFY_ON_EMPTY ignored"
mutant $R 's/put_user\(cpu_to_split16\(vr, vr->avail_idx\),/put_user(cpu_to_split16(vr, vr->avail_idx - 1),/' "avail_event one behind"
mutant $R 's/return idx != vr->last_avail_idx;/return 0;/' "enable_notify never rechecks"
mutant $R 's/vr->used_flags \|= VRING_USED_F_NO_NOTIFY;/;/' "disable_notify does nothing"
mutant $R 's/vr->used_flags &= ~VRING_USED_F_NO_NOTIFY;/;/' "enable_notify leaves NO_NOTIFY"

echo "1..$n"
echo "mutants: $((n - survived)) passed, $survived failed"
[ "$survived" -eq 0 ]
