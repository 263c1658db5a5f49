/* SPDX-License-Identifier: MIT */
/*
 * The trusted root shared by the bundle and root fuzz harnesses: the root
 * the seed bundles in tests/fuzz/bundle/corpus were signed under (root key
 * ff79..., policy key 342d...).
 */
#ifndef KHIEN_TESTS_FUZZ_ROOT_FIXTURE_H
#define KHIEN_TESTS_FUZZ_ROOT_FIXTURE_H

static const char root_json[] =
	"{\n"
	"	\"signed\":	{\n"
	"		\"_type\":	\"khien-root\",\n"
	"		\"version\":	1,\n"
	"		\"expires\":	4070908800,\n"
	"		\"keys\":	{\n"
	"			\"ff79da2af0e5f274\":	{\n"
	"				\"public\":	"
	"\"049ae55fe7d96125a1fef2a4c15b8fe07bf910ba4346faab2032e1aabdf09ff131367cc1a5f4d54d6e530516"
	"14f9557646f2f1a1b405a8a3a64f2fe797dc3daf90\"\n"
	"			},\n"
	"			\"342def50f5e9b309\":	{\n"
	"				\"public\":	"
	"\"04f34a48ec08b79b1182b0a4fa3ca627d942e09318eb4fa226f5affdee5384c43fbf086c78502a4ebf0ab06f"
	"ef6d6c15ac7fad71b702f0820c0bd0b172a058ef2f\"\n"
	"			}\n"
	"		},\n"
	"		\"roles\":	{\n"
	"			\"root\":	{\n"
	"				\"keyids\":	[\"ff79da2af0e5f274\"],\n"
	"				\"threshold\":	1\n"
	"			},\n"
	"			\"policy\":	{\n"
	"				\"keyids\":	[\"342def50f5e9b309\"],\n"
	"				\"threshold\":	1\n"
	"			}\n"
	"		}\n"
	"	},\n"
	"	\"signatures\":	[{\n"
	"			\"keyid\":	\"ff79da2af0e5f274\",\n"
	"			\"sig\":	"
	"\"ffd9e9920a8959c54a1e0ef9ef8c99480920183c24f364d208d43cb1aa9c5e79cbeaca1229963e841633ecf0"
	"7955bf7fc0008fd07f788bc101d128f2b7067b13\"\n"
	"		}]\n"
	"}";

#endif
