package faq

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"golang.org/x/sync/semaphore"
)

// trainConfig holds the hyper-parameters of the matcher. It is part of the
// model: a cached model is only reused with the same config.
type trainConfig struct {
	// Members are the feature sets of the ensemble: one classifier is
	// trained per member and their confidences are averaged.
	Members []featureConfig
	// MinDF drops features seen in fewer training texts, once there are
	// MinDFFrom texts or more: on a big knowledge base that halves the
	// memory at no cost in accuracy, on a small one a feature seen once is
	// much of the evidence.
	MinDF     int
	MinDFFrom int
	Epochs    int // passes of SGD over the training texts
	// SmallEpochs replaces Epochs below MinDFFrom texts: a sparse
	// knowledge base ranks as well after half the passes (CLINC150 k=5:
	// top-1 0.777 after 5, 0.782 after 10) and builds in half the time.
	SmallEpochs int
	LR          float32 // initial learning rate, decayed linearly to a tenth
	L2          float32 // L2 penalty on the weights
	Seed        uint64  // shuffling seed: the build is deterministic
	// Coverage is the exponent of the coverage factor in the confidence
	// (see classifier.confidence).
	Coverage float32
	// CalibA and CalibB map the ensemble's raw confidence r to the
	// reported one, sigmoid(CalibA·ln r + CalibB) (Platt scaling, fitted
	// once on CLINC150's validation cases; docs/MATCHER.md).
	CalibA, CalibB float32
	// Sparse knowledge bases score lower: with a few texts per entry the
	// softmax is flatter and the coverage smaller, for right answers and
	// out-of-scope questions alike. Below DenseAt texts per entry the
	// calibration's intercept rises by CalibA·SparseExp·ln(DenseAt/n), n
	// the mean texts per entry: the threshold on the raw confidence falls
	// as n^SparseExp. Fitted on CLINC150's few-shot sets (docs/MATCHER.md).
	DenseAt   float32
	SparseExp float32
	// AnswerWeight over the number of an entry's phrasings (question and
	// examples) is the weight in the loss of its answer, trained on as one
	// more text of the entry: weak evidence of what the entry is about,
	// which matters most when it has few phrasings. 0 leaves answers out.
	AnswerWeight float32
	// AnswerUpTo is the most phrasings an entry may have for its answer to
	// be trained on: beyond a few, the phrasings say what the entry is
	// about and the answer's prose only adds noise (in the default
	// knowledge base, 10-20 phrasings an entry, it raised "what's the
	// capital of peru" over the threshold through "api" in "capital").
	AnswerUpTo int
	// The members' TopicWeight applies in full up to TopicsFull texts per
	// entry and fades (log-linearly) to nothing at TopicsNone. A dense
	// knowledge base needs no topics, and they let out-of-scope questions
	// about the corpus's topics through: on CLINC150's full set OOS recall
	// fell from 0.85 to 0.81, and the default knowledge base (about 16
	// texts an entry) answered "set an alarm for 7 am".
	TopicsFull, TopicsNone float32
}

// forKB returns cfg as it applies to a knowledge base of texts phrasings
// over entries entries: fewer passes over a small one, and the topic
// weight fades as the entries get denser.
// The result follows from the knowledge base, so the cache key need only
// hold cfg.
func (cfg trainConfig) forKB(texts, entries int) trainConfig {
	n := float64(texts) / float64(max(entries, 1))
	lo, hi := float64(cfg.TopicsFull), float64(cfg.TopicsNone)
	w := 1.0
	if hi > lo && lo > 0 {
		w = min(max(math.Log(hi/n)/math.Log(hi/lo), 0), 1)
	}
	if texts < cfg.MinDFFrom && cfg.SmallEpochs > 0 {
		cfg.Epochs = cfg.SmallEpochs
	}
	members := slices.Clone(cfg.Members)
	for i := range members {
		members[i].TopicWeight *= float32(w)
		// Hypernyms help a sparse knowledge base and cost a dense one
		// out-of-scope recall (CLINC150 full: 0.85 → 0.83; the default
		// knowledge base, 16 texts an entry: 1.00 → 0.95): on up to 10
		// texts an entry.
		members[i].Hypernyms = members[i].Hypernyms && w >= 0.5
	}
	cfg.Members = members
	return cfg
}

// defaultTrainConfig is the configuration chosen by measurement on CLINC150
// and BANKING77 (docs/MATCHER.md).
func defaultTrainConfig() trainConfig {
	return trainConfig{
		Members: []featureConfig{
			// Words, word bigrams, character 2-5-grams within words,
			// WordNet synsets and HWU64 topics.
			{WordWeight: 1, BigramWeight: 1, CharWeight: 1, ConceptWeight: 1, Hypernyms: true, TopicWeight: 2, CharMin: 2, CharMax: 5},
			// Words, character 2-5-grams across word boundaries and
			// HWU64 topics.
			{WordWeight: 1, SpanWeight: 1, TopicWeight: 2, CharMin: 2, CharMax: 5},
		},
		MinDF:        2,
		MinDFFrom:    2000,
		Epochs:       10,
		SmallEpochs:  5,
		LR:           4,
		L2:           1e-6,
		Seed:         1,
		Coverage:     1.5,
		CalibA:       1.7,
		CalibB:       4.7,
		DenseAt:      100,
		SparseExp:    0.4,
		AnswerWeight: 1,
		AnswerUpTo:   5,
		TopicsFull:   5,
		TopicsNone:   20,
	}
}

// ensemble is the trained matcher: classifiers over different features
// whose confidences are averaged, then calibrated.
type ensemble struct {
	cfg     trainConfig
	classes int
	members []*classifier
	// calibShift is added to the calibration's intercept: more than 0 on
	// a sparse knowledge base (trainConfig.SparseExp). It follows from
	// the training texts, so newMatcher sets it for a cached model too.
	calibShift float32
}

// setDensity sets e.calibShift for a knowledge base of texts training
// texts over entries entries.
func (e *ensemble) setDensity(texts, entries int) {
	n := float64(texts) / float64(max(entries, 1))
	e.calibShift = 0
	if d := float64(e.cfg.DenseAt); n < d {
		// With few entries the softmax stays peaked however sparse they
		// are: the shift grows from nothing at 10 entries to all of it
		// at 100.
		w := min(max(math.Log10(float64(entries)/10), 0), 1)
		e.calibShift = float32(w * float64(e.cfg.CalibA) * float64(e.cfg.SparseExp) * math.Log(d/n))
	}
}

// classifier is a multinomial logistic regression over hashed word and
// character n-gram features, with weights quantised to 8 bits.
type classifier struct {
	features   featureConfig
	coverage   float32
	classes    int
	vocab      map[uint64]int32 // feature hash → column
	hashes     []uint64         // column → feature hash (for the cache)
	idf        []float32        // per column
	unknownIDF float32          // IDF of a feature no training text has
	q          []int8           // weights, a row of classes per column
	qscale     []float32        // per column: weight = q · qscale
	b          []float32        // bias per class
}

// example is one training text, its class and its weight in the loss (0
// means 1).
type example struct {
	text   string
	class  int32
	weight float32
}

// trainEnsemble trains one classifier per member, in parallel. The result
// depends only on cfg and data.
func trainEnsemble(ctx context.Context, cfg trainConfig, classes int, data []example) (*ensemble, error) {
	e := &ensemble{cfg: cfg, classes: classes, members: make([]*classifier, len(cfg.Members))}
	errs := make([]error, len(cfg.Members))
	budget := semaphore.NewWeighted(trainBudget)
	var wg sync.WaitGroup
	for i, fc := range cfg.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.members[i], errs[i] = trainClassifier(ctx, cfg, fc, classes, data, budget)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if len(data) >= bigBuild {
		// The training memory is garbage now; hand it back to the OS rather
		// than keep it mapped for the service's lifetime.
		debug.FreeOSMemory()
	}
	return e, nil
}

// bigBuild is the number of training texts from which a build's memory is
// worth returning to the OS at once (CLINC150: 15,000 texts, about 100 MB).
const bigBuild = 5000

// trainBudget bounds the memory of the members training at once (their
// training vectors and dense weights). Small knowledge bases train all
// members in parallel; on a big one (CLINC150: about 60 MB a member) they
// take turns, which keeps the peak memory of a build near one member's
// instead of all of them, for a build that takes longer on two cores.
const trainBudget = 64 << 20

// trainClassifier builds the vocabulary, weighs the features and fits the
// weights with SGD, holding its share of budget while it does. It checks ctx every few thousand examples.
func trainClassifier(ctx context.Context, cfg trainConfig, fc featureConfig, classes int, data []example, budget *semaphore.Weighted) (*classifier, error) {
	m := &classifier{features: fc, coverage: cfg.Coverage, classes: classes, vocab: map[uint64]int32{}}
	// Pass 1: document frequencies. The features are extracted again in
	// pass 2 rather than kept: keeping them costs more memory (16 bytes a
	// feature) than extracting twice costs time.
	df := map[uint64]int32{}
	var buf textBuf
	nnz := 0
	for i, ex := range data {
		buf.tokenize(ex.text)
		feats := fc.extract(&buf)
		nnz += len(feats)
		for _, f := range feats {
			df[f.hash]++
		}
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	minDF := 1
	if len(data) >= cfg.MinDFFrom {
		minDF = max(cfg.MinDF, 1)
	}
	cols := 0
	for _, n := range df {
		if int(n) >= minDF {
			cols++
		}
	}
	C := classes
	// The training vectors (8 bytes a feature) and the dense weights
	// (4 bytes a column and class) are what a member holds while it trains.
	need := min(int64(nnz)*8+int64(cols)*int64(C)*4, trainBudget)
	if err := budget.Acquire(ctx, need); err != nil {
		return nil, err
	}
	defer budget.Release(need)
	if need >= trainBudget/4 {
		// Return what a member trained before this one left behind first:
		// the GC would otherwise let it linger until the heap doubles.
		runtime.GC()
	}
	// Pass 2: columns in first-seen order, so that the model does not
	// depend on map iteration order, and the training vectors, all in one
	// arena.
	m.unknownIDF = idf(len(data), 0)
	m.idf = make([]float32, 0, cols)
	m.hashes = make([]uint64, 0, cols)
	arenaIdx, arenaVal := make([]int32, nnz), make([]float32, nnz)
	vecs := make([]sparse, len(data))
	off := 0
	for i, ex := range data {
		buf.tokenize(ex.text)
		feats := fc.extract(&buf)
		for _, f := range feats {
			if _, ok := m.vocab[f.hash]; ok {
				continue
			}
			if n := df[f.hash]; int(n) >= minDF {
				m.vocab[f.hash] = int32(len(m.idf))
				m.hashes = append(m.hashes, f.hash)
				m.idf = append(m.idf, idf(len(data), int(n)))
			}
		}
		end := off + len(feats)
		vecs[i], _ = vectorize(sparse{idx: arenaIdx[off:off:end], val: arenaVal[off:off:end]}, feats, fc.weights(), m.vocab, m.idf, m.unknownIDF)
		off = end
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	df = nil

	w := make([]float32, cols*C)
	m.b = make([]float32, C)
	// The weights are scale*w, so that the L2 decay of every weight is one
	// multiplication per step instead of a pass over the matrix.
	scale := float32(1)
	rescale := func() {
		for k := range w {
			w[k] *= scale
		}
		scale = 1
	}
	order := make([]int32, len(data))
	for i := range order {
		order[i] = int32(i)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	p := make([]float32, C)
	active := make([]int32, 0, C)
	total := cfg.Epochs * len(data)
	t := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for n, i := range order {
			if n%2048 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			lr := cfg.LR * (1 - 0.9*float32(t)/float32(total))
			t++
			x := vecs[i]
			clear(p)
			for k, j := range x.idx {
				row := w[int(j)*C : int(j)*C+C]
				a := x.val[k]
				for c, wv := range row {
					p[c] += a * wv
				}
			}
			for c := range p {
				p[c] = p[c]*scale + m.b[c]
			}
			softmax(p)
			p[data[i].class]-- // p is now the gradient of the loss by the logits
			if wt := data[i].weight; wt != 0 && wt != 1 {
				for c := range p {
					p[c] *= wt
				}
			}
			scale *= 1 - lr*cfg.L2
			step := lr / scale
			// Once the model fits, most classes get a negligible gradient:
			// updating only the others makes training about twice as fast
			// for the same accuracy.
			active = active[:0]
			for c, g := range p {
				if g > minGrad || g < -minGrad {
					active = append(active, int32(c))
				}
			}
			if len(active) > C/2 {
				for k, j := range x.idx {
					row := w[int(j)*C : int(j)*C+C]
					a := step * x.val[k]
					for c, g := range p {
						row[c] -= a * g
					}
				}
			} else {
				for k, j := range x.idx {
					row := w[int(j)*C : int(j)*C+C]
					a := step * x.val[k]
					for _, c := range active {
						row[c] -= a * p[c]
					}
				}
			}
			for c, g := range p {
				m.b[c] -= lr * g
			}
			if scale < 1e-3 {
				rescale()
			}
		}
	}
	rescale()
	m.quantize(w)
	return m, nil
}

// minGrad is the smallest gradient of a logit that training applies.
const minGrad = 1e-4

func idf(docs, df int) float32 {
	return float32(math.Log(float64(1+docs)/float64(1+df)) + 1)
}

// quantize stores w with 8 bits a weight and one scale a row: a quarter of
// the memory; the figures in docs/MATCHER.md are measured with it.
func (m *classifier) quantize(w []float32) {
	C := m.classes
	rows := len(w) / C
	m.q = make([]int8, len(w))
	m.qscale = make([]float32, rows)
	for j := 0; j < rows; j++ {
		row := w[j*C : j*C+C]
		var hi float32
		for _, v := range row {
			hi = max(hi, float32(math.Abs(float64(v))))
		}
		if hi == 0 {
			continue
		}
		s := hi / 127
		m.qscale[j] = s
		q := m.q[j*C : j*C+C]
		for c, v := range row {
			q[c] = int8(math.Round(float64(v / s)))
		}
	}
}

// The confidence that text asks class c is, per classifier,
//
//	p[c] · coverage[c]^Coverage
//
// where p is the softmax of the classifier and coverage[c] is the share of
// the text's TF-IDF mass in features that the classifier counts as evidence
// for c (known features with a positive weight for c). The softmax alone is
// relative: it picks the least unlikely entry even for a question about
// something else. The coverage factor is absolute: a question whose
// distinctive words the entry never uses scores low. The ensemble averages
// the classifiers' confidences and calibrates the mean.

// memberScratch is one classifier's working space for one text.
type memberScratch struct {
	x     sparse
	known float32
	p     []float32 // softmax
}

// probs vectorises the text tokenized in b into s and sets s.p to the
// class probabilities.
func (m *classifier) probs(s *memberScratch, b *textBuf) {
	s.x, s.known = vectorize(s.x, m.features.extract(b), m.features.weights(), m.vocab, m.idf, m.unknownIDF)
	p := s.p[:m.classes]
	clear(p)
	C := m.classes
	for k, j := range s.x.idx {
		q := m.q[int(j)*C : int(j)*C+C]
		q = q[:len(p)]
		a := s.x.val[k] * m.qscale[j]
		for c, w := range q {
			p[c] += a * float32(w)
		}
	}
	for c := range p {
		p[c] += m.b[c]
	}
	softmax(p)
}

// confidence returns p[c] · coverage[c]^Coverage for the text in s.
func (m *classifier) confidence(s *memberScratch, c int) float32 {
	var cov float32
	C := m.classes
	for k, j := range s.x.idx {
		if m.q[int(j)*C+c] > 0 {
			v := s.x.val[k]
			cov += v * v
		}
	}
	cv := min(cov, 1) * s.known
	var f float32
	switch m.coverage {
	case 1:
		f = cv
	case 1.5:
		f = cv * float32(math.Sqrt(float64(cv)))
	case 2:
		f = cv * cv
	default:
		f = float32(math.Pow(float64(cv), float64(m.coverage)))
	}
	return s.p[c] * f
}

// scratch is the working space of one match; Matcher pools them.
type scratch struct {
	text    textBuf
	members []memberScratch
	bound   []float32 // per class: the mean softmax, an upper bound of the confidence
	top     []int     // classes, best first
	conf    []float32 // per class, valid for the classes in top
}

func (e *ensemble) newScratch() *scratch {
	s := &scratch{
		members: make([]memberScratch, len(e.members)),
		bound:   make([]float32, e.classes),
		conf:    make([]float32, e.classes),
	}
	for i := range s.members {
		s.members[i].p = make([]float32, e.classes)
	}
	return s
}

// topK sets s.top to the k classes below limit with the highest confidence,
// best first (ties by class), and s.conf to their calibrated confidences.
//
// Computing the coverage of every class would cost as much as the
// classifiers themselves; instead the classes are visited in order of their
// mean softmax, which bounds the confidence from above (coverage is at most
// 1), until no remaining class can enter the top k. The result is exact up
// to ties.
func (e *ensemble) topK(s *scratch, text string, k, limit int) {
	s.text.tokenize(text)
	for i, m := range e.members {
		m.probs(&s.members[i], &s.text)
	}
	n := float32(len(e.members))
	bound := s.bound[:limit]
	for c := range bound {
		var sum float32
		for i := range s.members {
			sum += s.members[i].p[c]
		}
		bound[c] = sum / n
	}
	top := s.top[:0]
	for range limit {
		// The unvisited class with the highest bound (visited ones are -1).
		c := 0
		for i, b := range bound {
			if b > bound[c] {
				c = i
			}
		}
		if bound[c] < 0 || (len(top) == k && bound[c] <= s.conf[top[k-1]]) {
			break
		}
		bound[c] = -1
		var sum float32
		for i, m := range e.members {
			sum += m.confidence(&s.members[i], c)
		}
		s.conf[c] = sum / n
		// Insert c into top, sorted by confidence then class.
		i := len(top)
		for i > 0 && (s.conf[top[i-1]] < s.conf[c] || (s.conf[top[i-1]] == s.conf[c] && top[i-1] > c)) {
			i--
		}
		if i < k {
			top = append(top, 0)
			copy(top[i+1:], top[i:])
			top[i] = c
			if len(top) > k {
				top = top[:k]
			}
		}
	}
	for _, c := range top {
		s.conf[c] = e.calibrate(s.conf[c])
	}
	s.top = top
}

// calibrate maps a raw confidence in [0, 1] to the reported one.
func (e *ensemble) calibrate(r float32) float32 {
	if r <= 0 {
		return 0
	}
	if e.cfg.CalibA == 0 {
		return r
	}
	z := float64(e.cfg.CalibA)*math.Log(float64(r)) + float64(e.cfg.CalibB) + float64(e.calibShift)
	return float32(1 / (1 + math.Exp(-z)))
}

func softmax(p []float32) {
	hi := float32(math.Inf(-1))
	for _, v := range p {
		hi = max(hi, v)
	}
	var sum float32
	for c, v := range p {
		e := float32(math.Exp(float64(v - hi)))
		p[c] = e
		sum += e
	}
	for c := range p {
		p[c] /= sum
	}
}
