/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the firmware manifest and counter-reset parsers (firmware/manifest.c):
 * any bytes as a manifest, checked on their own and against a root with a
 * firmware role of threshold 2 (the seeds in corpus/ were signed under it),
 * then hashed as an image of themselves; and as a reset. Oracles: what
 * parses keeps the limits (parts inside the image, printable version); what
 * verifies parsed first and carries at least two signatures.
 */
#include <stdlib.h>
#include <string.h>

#include "firmware/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char root_json[] =
	"{\n"
	"\t\"signed\":\t{\n"
	"\t\t\"_type\":\t\"khien-root\",\n"
	"\t\t\"version\":\t1,\n"
	"\t\t\"expires\":\t1798768313,\n"
	"\t\t\"keys\":\t{\n"
	"\t\t\t\"e8d8fc10f118d797\":\t{\n"
	"\t\t\t\t\"public\":"
	"\t\"04db024dad2323bf0d3f15eddc01b48afa6dda4416601219c28a47eeb18ddc46d53760c78a214978d38d90"
	"a7eef1a735f2d8f0cedf46e8a944116c7bdb47a5b683\"\n"
	"\t\t\t},\n"
	"\t\t\t\"6fb11ef5ba947e03\":\t{\n"
	"\t\t\t\t\"public\":"
	"\t\"04b21e8c8d17299048cd0d60f183f598e32c75f394060d3e4c7213d515b79da0fb1e972237e30f16b20144"
	"26ccf313b924da8bb981547675ce5988cad2a7df8570\"\n"
	"\t\t\t},\n"
	"\t\t\t\"cba5c939810a59a1\":\t{\n"
	"\t\t\t\t\"public\":"
	"\t\"045e2a47137556d1f61dc35be67d0803d6039a6a853884380d4e5d85b93719bceee7950b8037f73792d1a7"
	"6ef05e51e98a3c3ff5051a83be1895d4e482b9283938\"\n"
	"\t\t\t},\n"
	"\t\t\t\"ec30c58704403f2e\":\t{\n"
	"\t\t\t\t\"public\":"
	"\t\"047913ae5b15d04b154364ce3851f5d7dd7c6a3e33d9de3a65a86967f723b62c939886095929af7845844a"
	"fe25abe0c6a8e2a9a57a0051ed5a235d1a3b69a1e9b1\"\n"
	"\t\t\t}\n"
	"\t\t},\n"
	"\t\t\"roles\":\t{\n"
	"\t\t\t\"root\":\t{\n"
	"\t\t\t\t\"keyids\":\t[\"e8d8fc10f118d797\"],\n"
	"\t\t\t\t\"threshold\":\t1\n"
	"\t\t\t},\n"
	"\t\t\t\"policy\":\t{\n"
	"\t\t\t\t\"keyids\":\t[\"6fb11ef5ba947e03\"],\n"
	"\t\t\t\t\"threshold\":\t1\n"
	"\t\t\t},\n"
	"\t\t\t\"firmware\":\t{\n"
	"\t\t\t\t\"keyids\":\t[\"cba5c939810a59a1\", \"ec30c58704403f2e\"],\n"
	"\t\t\t\t\"threshold\":\t2\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t},\n"
	"\t\"signatures\":\t[{\n"
	"\t\t\t\"keyid\":\t\"e8d8fc10f118d797\",\n"
	"\t\t\t\"sig\":"
	"\t\"c2b5958875d0a75aec79edbd03753502175f9930bbc48da1cf1d580809a0e8239c7e93a9e5fe1b7357446c"
	"542bbd88bd7ec48306fafae695b3aad3983a259393\"\n"
	"\t\t}]\n"
	"}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kh_root root;
	static int have;
	static struct kh_fw_manifest m, v;
	struct kh_fw_reset r;
	struct kh_fw_hash h;
	char why[320];
	int parsed;

	if (size > 2 * KH_FW_MANIFEST_MAX)
		return 0;
	if (!have) {
		if (kh_root_verify_self(root_json, strlen(root_json), &root, why, sizeof(why)) <
			    0 ||
		    root.firmware.threshold != 2)
			abort();
		have = 1;
	}
	parsed = kh_fw_manifest_parse((const char *)data, size, &m, why, sizeof(why)) == 0;
	if (parsed) {
		if (m.nparts > KH_FW_MAX_PARTS || !m.nhw || m.nhw > KH_FW_MAX_HW || !m.version[0])
			abort();
		for (unsigned i = 0; i < m.nparts; i++)
			if (m.parts[i].offset + m.parts[i].length > m.length)
				abort();
		for (const char *c = m.version; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				abort();
		kh_fw_hash_image(&h, &m);
		kh_fw_hash_update(&h, data, size);
		kh_fw_hash_final(&h, why, sizeof(why));
		kh_fw_manifest_allowed(&m, "hw-a", 3, why, sizeof(why));
	}
	if (kh_fw_manifest_verify((const char *)data, size, &root, &v, why, sizeof(why)) == 0 &&
	    (!parsed || v.sigs.n < 2 || v.counter != m.counter))
		abort();
	kh_fw_reset_verify((const char *)data, size, &root, &r, why, sizeof(why));
	return 0;
}
