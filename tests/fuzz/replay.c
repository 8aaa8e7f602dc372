/*
 * Replays fuzz inputs without libFuzzer, so `make test` can run every
 * corpus file through a target built with gcc (and the sanitizers when
 * SANITIZE is set). Each argument is a file or a directory of files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds one file to the target; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;
	int ret = -1;

	if (f == NULL) {
		fprintf(stderr, "could not open \"%s\": %s\n", path,
			strerror(errno));
		goto out;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			data = xrealloc(data, cap);
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "could not read \"%s\"\n", path);
		goto out;
	}
	/* shrunk to the exact size, so ASan sees reads past the end */
	data = xrealloc(data, len);
	LLVMFuzzerTestOneInput(data, len);
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	free(data);
	return ret;
}

static int
replay_dir(const char *path, int *count)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int ret = 0;

	if (dir == NULL) {
		fprintf(stderr, "could not open \"%s\": %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		char *file;

		if (de->d_name[0] == '.')
			continue;
		file = xasprintf("%s/%s", path, de->d_name);
		if (replay_file(file) < 0)
			ret = -1;
		else
			(*count)++;
		free(file);
	}
	closedir(dir);
	return ret;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int count = 0, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file-or-dir...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				ret = 1;
		} else if (replay_file(argv[i]) < 0) {
			ret = 1;
		} else {
			count++;
		}
	}
	printf("%s: replayed %d inputs\n", argv[0], count);
	return ret;
}
