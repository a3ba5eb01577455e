// SPDX-License-Identifier: GPL-2.0
/*
 * pcm_pause: plays a count through an ALSA PCM with raw ioctls, pausing,
 * resuming, stopping and restarting it, as a media player does.
 *
 * aplay pauses only from a terminal, so audio.sh has this instead: it
 * drives the PCM's trigger through PAUSE_PUSH, PAUSE_RELEASE, STOP and
 * START, which the generic dmaengine PCM turns into dmaengine_pause(),
 * dmaengine_resume(), dmaengine_terminate_async() and a new cyclic
 * transfer (sound/core/pcm_dmaengine.c).  Built static with the kernel's
 * nolibc (tools/asoc/build.sh), so the guest needs no libc for it.
 *
 *   pcm_pause DEVICE CYCLES
 *
 * Each cycle opens DEVICE (/dev/snd/pcmC0D0p), sets S16_LE stereo at
 * 48000 Hz, a 16384-frame buffer of 4096-frame periods, starting when the
 * buffer is full (as aplay does: the simulated FIFO's 4096 words take a
 * whole period at once), and writes 65536 frames of a 32-bit count (one
 * word per frame) that goes on from cycle to cycle, pausing twice on the
 * way: while paused the hardware pointer must
 * hold still (checked over 20 ms) and the state must be PAUSED.  Odd
 * cycles also stop the stream halfway (DROP), prepare it again and write
 * the rest, a count with one break.  Then DRAIN and close.  Prints one
 * line per failure and a summary; exits 1 on any failure.
 */
#include <sound/asound.h>

#define RATE	48000
#define PERIOD	4096
#define BUFFER	16384
#define FRAMES	65536
#define CHUNK	512

static int failures;

static void fail(const char *what, int cycle, long err)
{
	printf("pcm_pause: cycle %d: %s (%ld)\n", cycle, what, err);
	failures++;
}

static void set_mask(struct snd_pcm_hw_params *p, int param, unsigned int bit)
{
	struct snd_mask *m = &p->masks[param - SNDRV_PCM_HW_PARAM_FIRST_MASK];

	memset(m, 0, sizeof(*m));
	m->bits[bit >> 5] |= 1U << (bit & 31);
}

static void set_int(struct snd_pcm_hw_params *p, int param, unsigned int v)
{
	struct snd_interval *i =
		&p->intervals[param - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];

	i->min = v;
	i->max = v;
	i->integer = 1;
}

static int setup(int fd)
{
	struct snd_pcm_hw_params p;
	struct snd_pcm_sw_params sw;
	unsigned int n;

	memset(&p, 0, sizeof(p));
	for (n = 0; n <= SNDRV_PCM_HW_PARAM_LAST_MASK -
			 SNDRV_PCM_HW_PARAM_FIRST_MASK; n++)
		memset(&p.masks[n], 0xff, sizeof(p.masks[n]));
	for (n = 0; n <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL -
			 SNDRV_PCM_HW_PARAM_FIRST_INTERVAL; n++)
		p.intervals[n].max = ~0U;
	p.rmask = ~0U;
	p.info = ~0U;
	set_mask(&p, SNDRV_PCM_HW_PARAM_ACCESS,
		 SNDRV_PCM_ACCESS_RW_INTERLEAVED);
	set_mask(&p, SNDRV_PCM_HW_PARAM_FORMAT, SNDRV_PCM_FORMAT_S16_LE);
	set_mask(&p, SNDRV_PCM_HW_PARAM_SUBFORMAT, SNDRV_PCM_SUBFORMAT_STD);
	set_int(&p, SNDRV_PCM_HW_PARAM_CHANNELS, 2);
	set_int(&p, SNDRV_PCM_HW_PARAM_RATE, RATE);
	set_int(&p, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, PERIOD);
	set_int(&p, SNDRV_PCM_HW_PARAM_BUFFER_SIZE, BUFFER);
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &p) < 0)
		return -errno;
	memset(&sw, 0, sizeof(sw));
	sw.tstamp_mode = SNDRV_PCM_TSTAMP_NONE;
	sw.period_step = 1;
	sw.avail_min = PERIOD;
	sw.start_threshold = BUFFER;
	sw.stop_threshold = BUFFER;
	if (ioctl(fd, SNDRV_PCM_IOCTL_SW_PARAMS, &sw) < 0)
		return -errno;
	if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE, 0) < 0)
		return -errno;
	return 0;
}

static int status(int fd, struct snd_pcm_status *s)
{
	memset(s, 0, sizeof(*s));
	return ioctl(fd, SNDRV_PCM_IOCTL_STATUS, s) < 0 ? -errno : 0;
}

/* Writes @frames frames of the count from *@next. */
static int play(int fd, unsigned int *next, int frames)
{
	unsigned int buf[CHUNK];
	struct snd_xferi x;
	int done = 0, i, k;

	while (done < frames) {
		k = frames - done < CHUNK ? frames - done : CHUNK;
		for (i = 0; i < k; i++)
			buf[i] = *next + i;
		x.result = 0;
		x.buf = buf;
		x.frames = k;
		if (ioctl(fd, SNDRV_PCM_IOCTL_WRITEI_FRAMES, &x) < 0)
			return -errno;
		*next += x.result;
		done += x.result;
	}
	return 0;
}

/* PAUSE_PUSH, 20 ms in which the pointer must not move, PAUSE_RELEASE. */
static void pause_once(int fd, int cycle)
{
	struct snd_pcm_status a, b;
	int on = 1;

	if (ioctl(fd, SNDRV_PCM_IOCTL_PAUSE, on) < 0) {
		fail("PAUSE_PUSH failed", cycle, -errno);
		return;
	}
	if (status(fd, &a) || a.state != SNDRV_PCM_STATE_PAUSED)
		fail("not PAUSED after PAUSE_PUSH", cycle, a.state);
	usleep(20000);
	if (status(fd, &b) || b.hw_ptr != a.hw_ptr)
		fail("the pointer moved while paused", cycle,
		     (long)(b.hw_ptr - a.hw_ptr));
	on = 0;
	if (ioctl(fd, SNDRV_PCM_IOCTL_PAUSE, on) < 0)
		fail("PAUSE_RELEASE failed", cycle, -errno);
}

int main(int argc, char **argv)
{
	unsigned int next = 0;
	int cycles, c, fd, r;

	if (argc != 3) {
		printf("usage: pcm_pause DEVICE CYCLES\n");
		return 2;
	}
	cycles = atoi(argv[2]);
	for (c = 0; c < cycles; c++) {
		fd = open(argv[1], O_RDWR);
		if (fd < 0) {
			fail("cannot open the PCM", c, -errno);
			break;
		}
		r = setup(fd);
		if (r) {
			fail("hw_params or prepare failed", c, r);
			close(fd);
			break;
		}
		r = play(fd, &next, FRAMES / 4);
		if (!r)
			pause_once(fd, c);
		if (!r)
			r = play(fd, &next, FRAMES / 4);
		if (!r && (c & 1)) {
			/* STOP halfway, then START again from a new prepare. */
			if (ioctl(fd, SNDRV_PCM_IOCTL_DROP, 0) < 0 ||
			    ioctl(fd, SNDRV_PCM_IOCTL_PREPARE, 0) < 0)
				r = -errno;
		}
		if (!r)
			r = play(fd, &next, FRAMES / 4);
		if (!r)
			pause_once(fd, c);
		if (!r)
			r = play(fd, &next, FRAMES / 4);
		if (r)
			fail("write failed", c, r);
		else if (ioctl(fd, SNDRV_PCM_IOCTL_DRAIN, 0) < 0)
			fail("drain failed", c, -errno);
		close(fd);
	}
	printf("pcm_pause: %d cycles, %u frames written, %d failures\n",
	       cycles, next, failures);
	return failures ? 1 : 0;
}
