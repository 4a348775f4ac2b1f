// TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
// Transformer against PyTorch 1.13: outputs and gradients for the same weights and inputs
// (post-norm and pre-norm, relu and gelu, batch_first, causal and padding masks, bool and float
// masks, layer_norm_eps, eval mode: dropout off), float64 gradchecks, parameter names and shapes,
// copies of the layer in a stack, a safetensors file PyTorch wrote, dropout in training,
// AnyModule and Sequential, errors.
//
// The reference values were printed by this Python (fill, ramp and weights are in
// pytorch_reference.h; report() and c() as in test_attention.cpp), eval mode throughout:
//
//   T, F = True, False
//   causal = nn.Transformer.generate_square_subsequent_mask
//   m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6); fill(m); m.eval()
//   src = ramp([3, 2, 4], 0.3, 0.1)
//   report("encoder layer", m, [m(src, causal(3), torch.tensor([[F, F, T], [F, F, F]]))], [src])
//   m = nn.TransformerEncoderLayer(4, 2, 6, activation="gelu", layer_norm_eps=1e-3,
//                                  batch_first=True, norm_first=True); fill(m); m.eval()
//   src = ramp([2, 3, 4], 0.3, 0.1)
//   report("encoder layer pre norm", m, [m(src, torch.ones(3, 3, dtype=torch.bool).triu(1))],
//          [src])
//   m = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6); fill(m); m.eval()
//   tgt, memory = ramp([3, 2, 4], 0.3, 0.1), ramp([2, 2, 4], 0.4, 0.7, torch.sin)
//   report("decoder layer", m, [m(tgt, memory, tgt_mask=causal(3),
//          memory_key_padding_mask=torch.tensor([[F, T], [F, F]]))], [tgt, memory])
//   m = nn.TransformerDecoderLayer(4, 2, 6, activation="gelu", batch_first=True, norm_first=True)
//   fill(m); m.eval()
//   tgt, memory = ramp([2, 3, 4], 0.3, 0.1), ramp([2, 2, 4], 0.4, 0.7, torch.sin)
//   report("decoder layer pre norm", m,
//          [m(tgt, memory, memory_mask=ramp([3, 2], 0.9, 0.3, torch.sin, False))], [tgt, memory])
//   m = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6), 2, norm=nn.LayerNorm(4))
//   fill(m); m.eval()
//   src = ramp([3, 2, 4], 0.3, 0.1)
//   report("encoder stack", m, [m(src, src_key_padding_mask=torch.tensor([[F, F, T], [F, F, F]]))],
//          [src])
//   m = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6), 2, norm=nn.LayerNorm(4))
//   fill(m); m.eval()
//   tgt, memory = ramp([3, 2, 4], 0.3, 0.1), ramp([2, 2, 4], 0.4, 0.7, torch.sin)
//   report("decoder stack", m, [m(tgt, memory, tgt_mask=causal(3))], [tgt, memory])
//   m = nn.Transformer(4, 2, 1, 1, 6, batch_first=True); fill(m); m.eval()
//   src, tgt = ramp([2, 2, 4], 0.4, 0.7, torch.sin), ramp([2, 3, 4], 0.3, 0.1)
//   report("transformer", m, [m(src, tgt, tgt_mask=causal(3),
//          src_key_padding_mask=torch.tensor([[F, T], [F, F]]),
//          memory_key_padding_mask=torch.tensor([[F, T], [F, F]]))], [src, tgt])

#include <bg/nn.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "pytorch_reference.h"
#include "test_util.h"

using namespace bg;
using test::check_against;
using test::check_error;
using test::Expected;
using test::fill;
using test::ramp;

namespace {

// encoder layer
const Expected kEncoderLayer{
    {{-0.699628325311, -0.368367498025, 0.46219814709,   0.222537945751,  -0.731411610285,
      -0.257209803309, 0.406412494279,  0.223845161034,  -0.732652121465, -0.244227687337,
      0.4031114986,    0.220383018266,  -0.743444429219, -0.163505669303, 0.364344268031,
      0.210322558768,  -0.730528890322, -0.205579278856, 0.40255460821,   0.200734566589,
      -0.719835622386, -0.282649077001, 0.431600141118,  0.213915154342}},
    {0.248665843549,   0.348474959821,     0.236077371803,    0.0221362098606, -6.11490025282e-17,
     -0.108871404843,  -6.24500451352e-17, -0.00876071587579, 0.105762921397,  0.0746822971762,
     0.502798011384,   0.486501213192,     4.16333634234e-16, -0.150545657127, 4.4408920985e-16,
     -0.0729830531214, -0.729921672965,    -0.624349275663,   -0.205395075499, -0.256712005247,
     1.32478734713,    1.4589641947,       5.30511519716,     5.09984458581},
    {{0.0689581377362,  -0.184875396012,   0.0480159486882,   -0.0397984070571,  -0.00186278419016,
      -0.0579266639833, 0.0420857475709,   -0.00131251970732, -0.0070041912953,  -0.0556607153418,
      0.0483660442998,  0.0065002149509,   -0.00865912137774, -0.0102784051838,  0.0144346012795,
      0.0139866573069,  0.000993108055341, 0.00342922258029,  -0.00192188634315, -0.00258470726084,
      -0.0103858015068, 0.0595885729688,   -0.0315561319047,  -0.0116461623403}}};
// encoder layer pre norm
const Expected kEncoderLayerPreNorm{
    {{0.946211356505,  0.724345917119,  0.259979552789,  -0.182487200392, 0.587559039005,
      0.250853602155,  -0.287028505857, -0.748180400186, 0.0693382756486, -0.223516476049,
      -0.611723327396, -0.941735829188, 0.130055291192,  -0.181289059809, -0.225114247831,
      -0.562448281509, 0.641761961135,  0.381884165798,  0.329111417614,  -0.0622209210914,
      1.00060345758,   0.695898542501,  0.391371762649,  -0.114572486326}},
    {-1.38491613353,    -0.465450479121,  -0.329714594838, 0.316292899233,  4.50109937481,
     1.90103324576,     5.30511519716,    5.10100015208,   -0.581293174753, 0.41900495477,
     0.918311142002,    0.712565902835,   4.11298771861,   -0.747601287416, 5.30511519716,
     5.09984458581,     0.255342161787,   0.226303538324,  -0.337483587264, -0.303915307934,
     -0.00830885318506, -0.0012784775139, 0.18315594919,   0.169980721618},
    {{1.13602889459,    0.860747867382,  0.889728282464,  1.02939084638,   0.940263779716,
      0.80809540106,    0.764678289256,  0.752141616356,  0.650855995676,  0.494711853009,
      0.433246985879,   0.413641692861,  0.264289478271,  0.124099804177,  0.024547313686,
      -0.0727589683589, -0.181497135749, -0.282583158256, -0.402212447915, -0.510611236467,
      -0.607754481093,  -0.649619892251, -0.743371015097, -0.830944568412}}};
// decoder layer
const Expected kDecoderLayer{
    {{-0.24373318522,   -0.849042053504,   0.0456918033298,  0.00912156991578, -0.230697768637,
      -0.784335281493,  0.034523188544,    -0.0667227797779, -0.229221242163,  -0.822298194451,
      -0.0129331823342, -0.00674876993982, -0.210057648821,  -0.665000550506,  -0.0606407153485,
      -0.147372425952,  -0.219136155227,   -0.772750867236,  -0.0333558558769, -0.0569220978015,
      -0.23344213405,   -0.773919086445,   0.0562629877679,  -0.0836267780598}},
    {-0.145257494404,   -0.181264333816,   0.0801897686731,   -0.0109413678669, 3.46944695195e-17,
     -0.39720402531,    4.16333634234e-17, -0.0273626742119,  0.238838094314,   -0.223023885407,
     0.248628860555,    -0.164573071292,   5.55111512313e-17, -0.0876037904742, -1.04083408559e-16,
     0.00443868176854,  0.00484576316077,  -0.0531017861476,  0.124143354312,   -0.103140045243,
     7.78890840714e-16, -0.242918805738,   1.99840144433e-15, -0.107843267098,  0.775712462794,
     0.741927538657,    0.00317227053325,  0.00750256083624,  -2.0419732691,    -1.83384521942,
     -0.720908128943,   -0.79567309716,    -1.01614146343,    -1.01208880334,   5.30511519716,
     5.09984458581},
    {{-0.0815074300032, 0.134956708482,   0.00174413439582, 0.00387732427829, -0.0507318079878,
      0.0747915996733,  0.0206427079132,  -0.0443744862526, -0.0280245915988, 0.0303097231252,
      0.00913940725958, -0.0290446569632, -0.0686279670041, -0.054550887153,  0.0630583383549,
      0.0322302966717,  -0.00456385222,   -0.160709675417,  0.061864431389,   0.0931926623131,
      0.0736577894386,  -0.15997725193,   0.021483378334,   0.0499255869455},
     {-0.0185433058092, -0.0298751417551, -0.0271562317216, -0.0116653215816, -0.010682456954,
      -0.0174660887905, -0.0160351461537, -0.0070626237247, 0, 0, 0, 0, -0.0128974062033,
      -0.0191903176337, -0.0164577228239, -0.00598480381106}}};
// decoder layer pre norm
const Expected kDecoderLayerPreNorm{
    {{0.195562257592,   0.399698982799,  0.445933654243,  -0.19519211859,  -0.184849154973,
      -0.0524111654031, -0.119936458081, -0.745198248951, -0.712759478763, -0.520091953648,
      -0.448454899383,  -0.937306948934, -0.661557532522, -0.500818373026, -0.0083519312913,
      -0.649281987388,  -0.127467434645, 0.0407294203023, 0.566223753626,  -0.168140415564,
      0.251743876846,   0.327247712746,  0.657258471455,  -0.238828786686}},
    {1.0281572978,     0.418433117078,   -0.252171627534, 0.313473159565,    5.75552480502,
     1.98724898962,    5.30511519716,    5.10223959412,   2.57306260207,     1.10228904016,
     1.1982031552,     -0.401666356968,  -4.88864238596,  -1.34815145911,    5.30511519716,
     5.10237139717,    0.318041911388,   0.281490254857,  -0.404753649168,   -0.43715766036,
     -0.949234858571,  0.106817685974,   5.30511519716,   5.09984458581,     0.311325377729,
     0.277243904832,   -0.358898891518,  -0.323665625737, -0.00255794227114, -0.00283478972707,
     -0.0115550783809, -0.0110101291743, 0.421833080273,  0.39684551311,     0.327946017616,
     0.332146479073},
    {{0.987108208142,   1.00606709495,   0.96894311622,   0.953777471508, 0.895377554424,
      0.865162060544,   0.795380907987,  0.709258563434,  0.608204714536, 0.784208485559,
      0.469296134408,   0.130747192921,  0.258642145954,  0.125715237214, 0.0277715941885,
      -0.0719513495816, -0.16930435548,  -0.287345899246, -0.42129484729, -0.498958876371,
      -0.554001871878,  -0.660795943453, -0.802058537771, -0.814833603752},
     {0.0111523153166, -0.00657390975121, -0.0212083223428, -0.0258681295474, 0.0153670212977,
      0.00646756783557, -0.00547368383818, -0.0148405764742, -0.0322411681471, -0.0414774185574,
      -0.0312061909176, -0.00625820407913, -0.029450020227, -0.0357929707736, -0.0253019278848,
      -0.00291099295823}}};
// encoder stack
const Expected kEncoderStack{
    {{0.0190795451033, 0.351365899017,  0.310488319644,   0.924375971814,  0.0213535025277,
      0.3372615783,    0.301918967615,  0.925468492766,   0.0104639972429, 0.37222471947,
      0.323075685272,  0.918252224882,  0.00824015448772, 0.401417723151,  0.345981235177,
      0.902133832724,  0.0110413989433, 0.394486908747,   0.340758229223,  0.907356823164,
      0.024978294364,  0.34018470684,   0.304581878719,   0.926201069473}},
    {-0.0137146034475,  0.0404114809617,    0.146273952913,    0.0760468811059,   1.23165366794e-16,
     -0.237430807864,   2.77555756156e-17,  -0.0251027089878,  0.0589796540598,   0.184884199332,
     0.232324354338,    0.330546273449,     2.32452945781e-16, -0.107669244264,   1.66533453694e-16,
     -0.0616044815349,  -0.115855404214,    -0.0592361586732,  -0.289800819069,   -0.31817550253,
     0.0998640907349,   0.0724984146375,    0.12634444384,     0.249103260076,    0.0941737360354,
     0.198296234107,    -0.26521518781,     -0.104950943689,   2.70616862252e-16, 1.25764615461,
     2.22044604925e-16, 0.14440324812,      -0.168279234764,   -0.0310614915252,  3.20702237092,
     2.08870085885,     -2.22044604925e-16, 2.51064725687,     -4.4408920985e-16, 0.23818686374,
     -6.32145503023,    -5.97769187042,     -0.638690336757,   -0.398323996487,   0.393915941092,
     0.406488033977,    8.32667268469e-17,  -0.0996328015247,  -1.40186806514,    -1.49029983898,
     5.30511519716,     5.09984458581},
    {{0.121548542582,   -0.324101265872,  0.0371289452582,  0.0925997185272,  0.107769855621,
      -0.250240504146,  0.072077619783,   0.0768811381704,  0.0514053351405,  -0.17670778966,
      0.00800581787124, 0.0422295574106,  0.0283724290713,  -0.0560206216147, -0.00334247260016,
      0.0422745744194,  -0.0292398240135, 0.0652964782139,  0.00555772803567, -0.0441280784759,
      -0.136111341557,  0.284116827594,   -0.0629170358604, -0.108684492267}}};
// decoder stack
const Expected kDecoderStack{
    {{-0.177626806771, 0.313227493976,  0.321857756884,  0.655435520743,  -0.171305374137,
      0.328601747286,  0.31374702506,   0.654315662061,  -0.177417186362, 0.312631171902,
      0.322050442466,  0.655496470386,  -0.175212880025, 0.315096124587,  0.320475697032,
      0.65542213804,   -0.182802000418, 0.299791488667,  0.328558887144,  0.65603902843,
      -0.172424416654, 0.325806731025,  0.315242739677,  0.654559197069}},
    {-0.0248140919546,
     -0.0101016796292,
     -0.0473064504369,
     0.00978793550153,
     1.51788304148e-18,
     0.0203082239295,
     3.46944695195e-18,
     5.89474266396e-05,
     0.00626037717885,
     0.0133537846829,
     -0.0763501300115,
     0.0492960540213,
     3.42607886505e-17,
     0.0403387486358,
     -3.12250225676e-17,
     -0.00376065125016,
     -0.00273304592197,
     0.0259314431385,
     -0.0511115889643,
     0.0140636417674,
     5.63785129692e-18,
     0.0466321014525,
     0,
     0.027906258129,
     -0.131395107874,
     -0.124008541679,
     0.00193941965936,
     -0.00186264462032,
     0.769215188577,
     0.693687462293,
     0.200197969559,
     0.218090573244,
     -0.15324102565,
     -0.166118851148,
     -0.00327438685506,
     -0.015236786406,
     0.0311771325685,
     -0.0838629878563,
     -0.0304846344641,
     0.0377186554026,
     -5.37764277553e-17,
     -0.0582605703233,
     -2.77555756156e-17,
     -0.0151186726928,
     -0.0650900275536,
     -0.021325929424,
     0.628001995974,
     0.0165698988979,
     -6.24500451352e-17,
     0.144542616028,
     2.77555756156e-17,
     -0.0155980621406,
     0.245442688505,
     0.291894245008,
     0.305361418268,
     0.309236186421,
     1.11022302463e-16,
     -0.467581991868,
     2.22044604925e-16,
     -0.0740820728363,
     -1.00457159957,
     -0.945723785443,
     -0.0164981583252,
     -0.0286917856812,
     -0.0887147747136,
     -0.0381221203825,
     0.329967786101,
     0.24592807398,
     0.565518036619,
     0.615382340537,
     -7.21644966006e-16,
     -0.136424509166,
     -1.4215044888,
     -1.51910301185,
     5.30511519716,
     5.09984458581},
    {{0.0167014705513,   -0.00415407963274,  -0.0203628971455, 0.00942853239269, 0.00884999636262,
      -0.0010573160065,  -0.0135779485959,   0.00651262146145, 0.0104839207917,  0.000588271587227,
      -0.0157201758897,  0.00621224321638,   0.014392342569,   0.00148672109717, -0.0146454395722,
      -0.00190152431617, -0.0111699401686,   -0.001152815561,  0.00988556795768, 0.00270745544507,
      -0.00990816396351, -8.59234312978e-06, 0.0136894952918,  -0.00403269690441},
     {0.00170426169199, 0.0226541545626, 0.0329494445615, 0.0277480959338, 0.00328723214833,
      0.0134563838757, 0.0172967880045, 0.013002242465, 0.0102605605437, 0.0417509126461,
      0.0536051581551, 0.04024806018, 0.00314445597156, 0.0145179571869, 0.0190634362878,
      0.0146430834282}}};
// transformer
const Expected kTransformer{
    {{0.10488336813,   0.24248482878,   0.0685963315193, 0.0546840218519, 0.117262289505,
      0.188015359471,  0.0905952141127, 0.0592415711911, 0.115907043898,  0.192099811204,
      0.090084466524,  0.058692559448,  0.113736031202,  0.200025796655,  0.0877190144159,
      0.0579224857051, 0.110757479521,  0.212932033693,  0.0823808242194, 0.0569396142986,
      0.110797488486,  0.211523342933,  0.0838686021124, 0.0568386991105}},
    {-0.000920691836941, -0.00121020980605,  -0.000563350003105, -2.71290967796e-05,
     7.11507675694e-20,  -8.21597399749e-05, 8.13151629364e-20,  -8.17317965195e-06,
     -7.48198142303e-05, 1.0263862538e-05,   -0.000500561628869, -0.000420446911349,
     1.82959116607e-19,  -4.75342230002e-06, 1.08420217249e-19,  4.10011048986e-05,
     0.00123329377143,   0.00111715116935,   4.99109075427e-05,  8.70057794074e-05,
     0.000519933746779,  0.000454744398829,  -2.16840434497e-19, -6.17105855136e-05,
     0.00454138892837,   0.00400865922463,   0.0068468174402,    0.00615975712904,
     0.250143700364,     -0.00561120991122,  0.230475937514,     -0.0677360127956,
     -6.89552581701e-17, 0.0335537080508,    -1.73472347598e-16, 0.00675928788022,
     -0.181620507677,    -0.0622146796593,   -0.0931226732566,   0.0177892356846,
     -1.04083408559e-17, 0.0135038792162,    -5.55111512313e-17, 0.00489282816881,
     -0.121584546153,    0.0882503116288,    0.195609728147,     0.154571770838,
     5.55111512313e-17,  0.257350939745,     4.16333634234e-17,  0.0111245892285,
     -0.105849548775,    -0.101648958121,    -7.62918479988e-08, 0.00489275065749,
     0.192285477345,     0.195293073219,     -0.0208650382501,   -0.020224405939,
     -0.657061687266,    -0.586765443741,    -6.66133814775e-16, 0.0227727387781,
     -2.02194249853,     -2.16548354356,     5.30511519716,      5.09984458581},
    {{-0.000191611944289, 0.00046185147899, -0.00018636840966, 0.000186510035753, 0, 0, 0, 0,
      2.95956659527e-06, -3.92152195822e-05, 1.4117163565e-05, 1.14265543929e-05, 2.99814595596e-05,
      -4.82834759838e-05, -3.0121996594e-05, 3.60635049881e-05},
     {-0.0144475220192,  0.0974320010631,   -0.0620828947791,   0.0186234181679,
      -0.0500752254647,  0.0771291042657,   0.0436004588666,    -0.0739015858252,
      -0.021920077241,   0.0207823101686,   -0.00218523461922,  0.00836246297671,
      -0.00464020869615, 0.00438116490991,  -0.00221531993382,  0.00245959339273,
      0.001751035822,    -0.00673238878965, -0.000171769138719, -8.21940708564e-05,
      0.0191412041657,   -0.0319379365853,  0.00933408992343,   -0.00290294452127}}};

const unsigned char kEncoderLayerFile[] = {
    0x88, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x73, 0x65, 0x6c, 0x66, 0x5f, 0x61,
    0x74, 0x74, 0x6e, 0x2e, 0x69, 0x6e, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x5f, 0x77, 0x65, 0x69, 0x67,
    0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33,
    0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x31, 0x32, 0x2c, 0x34,
    0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22,
    0x3a, 0x5b, 0x30, 0x2c, 0x31, 0x39, 0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x73, 0x65, 0x6c, 0x66, 0x5f,
    0x61, 0x74, 0x74, 0x6e, 0x2e, 0x69, 0x6e, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x5f, 0x62, 0x69, 0x61,
    0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32,
    0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x31, 0x32, 0x5d, 0x2c, 0x22,
    0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x31,
    0x39, 0x32, 0x2c, 0x32, 0x34, 0x30, 0x5d, 0x7d, 0x2c, 0x22, 0x73, 0x65, 0x6c, 0x66, 0x5f, 0x61,
    0x74, 0x74, 0x6e, 0x2e, 0x6f, 0x75, 0x74, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x2e, 0x77, 0x65, 0x69,
    0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46,
    0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x2c, 0x34,
    0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22,
    0x3a, 0x5b, 0x32, 0x34, 0x30, 0x2c, 0x33, 0x30, 0x34, 0x5d, 0x7d, 0x2c, 0x22, 0x73, 0x65, 0x6c,
    0x66, 0x5f, 0x61, 0x74, 0x74, 0x6e, 0x2e, 0x6f, 0x75, 0x74, 0x5f, 0x70, 0x72, 0x6f, 0x6a, 0x2e,
    0x62, 0x69, 0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22,
    0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x5d,
    0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a,
    0x5b, 0x33, 0x30, 0x34, 0x2c, 0x33, 0x32, 0x30, 0x5d, 0x7d, 0x2c, 0x22, 0x6c, 0x69, 0x6e, 0x65,
    0x61, 0x72, 0x31, 0x2e, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74,
    0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70,
    0x65, 0x22, 0x3a, 0x5b, 0x38, 0x2c, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f,
    0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x33, 0x32, 0x30, 0x2c, 0x34, 0x34, 0x38,
    0x5d, 0x7d, 0x2c, 0x22, 0x6c, 0x69, 0x6e, 0x65, 0x61, 0x72, 0x31, 0x2e, 0x62, 0x69, 0x61, 0x73,
    0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22,
    0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x38, 0x5d, 0x2c, 0x22, 0x64, 0x61,
    0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x34, 0x34, 0x38,
    0x2c, 0x34, 0x38, 0x30, 0x5d, 0x7d, 0x2c, 0x22, 0x6c, 0x69, 0x6e, 0x65, 0x61, 0x72, 0x32, 0x2e,
    0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22,
    0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b,
    0x34, 0x2c, 0x38, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65,
    0x74, 0x73, 0x22, 0x3a, 0x5b, 0x34, 0x38, 0x30, 0x2c, 0x36, 0x30, 0x38, 0x5d, 0x7d, 0x2c, 0x22,
    0x6c, 0x69, 0x6e, 0x65, 0x61, 0x72, 0x32, 0x2e, 0x62, 0x69, 0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22,
    0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68,
    0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f,
    0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36, 0x30, 0x38, 0x2c, 0x36, 0x32, 0x34,
    0x5d, 0x7d, 0x2c, 0x22, 0x6e, 0x6f, 0x72, 0x6d, 0x31, 0x2e, 0x77, 0x65, 0x69, 0x67, 0x68, 0x74,
    0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22,
    0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61,
    0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36, 0x32, 0x34,
    0x2c, 0x36, 0x34, 0x30, 0x5d, 0x7d, 0x2c, 0x22, 0x6e, 0x6f, 0x72, 0x6d, 0x31, 0x2e, 0x62, 0x69,
    0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33,
    0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x34, 0x5d, 0x2c, 0x22,
    0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36,
    0x34, 0x30, 0x2c, 0x36, 0x35, 0x36, 0x5d, 0x7d, 0x2c, 0x22, 0x6e, 0x6f, 0x72, 0x6d, 0x32, 0x2e,
    0x77, 0x65, 0x69, 0x67, 0x68, 0x74, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22,
    0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b,
    0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73,
    0x22, 0x3a, 0x5b, 0x36, 0x35, 0x36, 0x2c, 0x36, 0x37, 0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x6e, 0x6f,
    0x72, 0x6d, 0x32, 0x2e, 0x62, 0x69, 0x61, 0x73, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70,
    0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22,
    0x3a, 0x5b, 0x34, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65,
    0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36, 0x37, 0x32, 0x2c, 0x36, 0x38, 0x38, 0x5d, 0x7d, 0x2c, 0x22,
    0x5f, 0x5f, 0x6d, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x5f, 0x22, 0x3a, 0x7b, 0x22,
    0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x22, 0x3a, 0x22, 0x70, 0x74, 0x22, 0x7d, 0x7d, 0x20, 0x20,
    0x29, 0xc3, 0x63, 0x3e, 0x7f, 0x2d, 0x02, 0x3f, 0x0e, 0x0d, 0x01, 0xbe, 0x28, 0x9f, 0xea, 0x3e,
    0x74, 0x25, 0xca, 0xbd, 0xa0, 0xb4, 0x84, 0x3d, 0xf9, 0xf2, 0x0d, 0x3f, 0xad, 0x6d, 0x11, 0xbf,
    0xca, 0x61, 0xc5, 0xbe, 0x8f, 0xc0, 0x1e, 0xbe, 0x7f, 0x6e, 0x74, 0xbe, 0x76, 0x72, 0x07, 0x3f,
    0x10, 0x3a, 0xcb, 0xbe, 0x90, 0x54, 0x90, 0xbe, 0x4c, 0x0c, 0xdb, 0xbe, 0x7b, 0xd2, 0x12, 0xbf,
    0xdc, 0x05, 0xb7, 0xbe, 0xc5, 0xc1, 0x06, 0x3f, 0xaa, 0xe7, 0x8b, 0x3e, 0x2f, 0xf6, 0x97, 0x3e,
    0x0b, 0xea, 0x03, 0x3d, 0x7b, 0xbe, 0xa0, 0xbe, 0x5b, 0x2e, 0xd4, 0x3d, 0x73, 0x5f, 0x12, 0xbf,
    0xb2, 0x8c, 0xe2, 0xbe, 0xf4, 0xa2, 0xa1, 0xbe, 0x29, 0xd2, 0xc5, 0x3e, 0x01, 0xd5, 0xb7, 0x3e,
    0x14, 0x0d, 0x8b, 0xbe, 0x61, 0x02, 0xb5, 0xbc, 0x44, 0x86, 0xc8, 0x3e, 0xfd, 0xd8, 0x1b, 0x3f,
    0x67, 0xdf, 0x78, 0x3e, 0xd9, 0x6c, 0xa9, 0x3d, 0x82, 0x38, 0xd2, 0x3e, 0x27, 0x9c, 0xb8, 0xbe,
    0x87, 0xb3, 0xe9, 0x3d, 0xce, 0x15, 0xf3, 0xbe, 0x7a, 0x4e, 0xd9, 0xbe, 0x85, 0xf7, 0xa1, 0xbe,
    0xb2, 0xdd, 0x8d, 0x3e, 0xb7, 0x2e, 0x7c, 0x3e, 0x1b, 0xb9, 0xb9, 0xbe, 0x2e, 0x71, 0x3d, 0x3e,
    0x2d, 0x1f, 0xac, 0x3e, 0x4a, 0x4b, 0x9e, 0xbd, 0x32, 0x8a, 0xbf, 0x3c, 0x81, 0x4b, 0x11, 0x3e,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x54, 0x75, 0xbb, 0x5e, 0x54, 0x89, 0x3e, 0x16, 0xb3, 0xd2, 0xbe, 0x80, 0x66, 0xbc, 0xbe,
    0xf4, 0x32, 0x45, 0xbe, 0xec, 0x4b, 0x09, 0x3e, 0x40, 0x4f, 0x22, 0xbc, 0xce, 0xfa, 0xca, 0x3e,
    0x70, 0xbf, 0x35, 0xbd, 0x4c, 0x7b, 0x07, 0x3e, 0xac, 0xbb, 0x1a, 0xbe, 0x70, 0x48, 0xc9, 0xbd,
    0xb8, 0x91, 0xf4, 0xbe, 0x52, 0x8b, 0xa9, 0xbe, 0xe8, 0x0e, 0x53, 0xbe, 0x00, 0xbb, 0x97, 0x3c,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xd1, 0x9e, 0x3e, 0x48, 0xcf, 0xf5, 0x3e, 0x96, 0x47, 0xc5, 0xbe, 0xec, 0xa1, 0x3b, 0xbe,
    0x98, 0x38, 0x49, 0x3e, 0xd0, 0x1b, 0xd4, 0x3e, 0xe8, 0xc5, 0xde, 0x3e, 0x22, 0xe2, 0xe1, 0x3e,
    0x78, 0xca, 0xcb, 0x3d, 0xf8, 0x9c, 0xde, 0xbe, 0x90, 0x66, 0x3c, 0x3d, 0xac, 0x27, 0xa0, 0xbe,
    0x8c, 0x94, 0xee, 0xbe, 0x3e, 0x74, 0xe3, 0x3e, 0xf0, 0xa6, 0xc2, 0x3e, 0xfe, 0x5d, 0xff, 0xbe,
    0x08, 0xaa, 0xbf, 0x3d, 0xc8, 0x80, 0xac, 0xbd, 0xb8, 0x82, 0xa8, 0xbd, 0x1c, 0x5f, 0x6a, 0xbe,
    0x8c, 0xe4, 0x44, 0x3e, 0x34, 0xa1, 0x97, 0xbe, 0xdc, 0xb1, 0x3b, 0x3e, 0x16, 0x76, 0x81, 0x3e,
    0x5c, 0x43, 0xb7, 0x3e, 0x48, 0x71, 0x3f, 0x3e, 0x4a, 0x5f, 0xfd, 0xbe, 0x00, 0x11, 0xa6, 0xbe,
    0x38, 0xa6, 0x7f, 0x3e, 0x18, 0x53, 0xd6, 0x3d, 0x96, 0xb3, 0xc7, 0xbe, 0xe8, 0x68, 0x93, 0xbe,
    0xf2, 0xd4, 0xf0, 0x3e, 0x54, 0x7f, 0xac, 0x3e, 0xb0, 0x3e, 0x5f, 0xbe, 0xd4, 0xdc, 0x00, 0xbe,
    0x78, 0xdd, 0xf3, 0xbe, 0x80, 0x3e, 0x13, 0xbc, 0x78, 0xc8, 0xc0, 0xbe, 0xa2, 0x77, 0xc5, 0xbe,
    0xe4, 0x95, 0x9f, 0xbc, 0xea, 0x6e, 0x59, 0x3d, 0x0b, 0x44, 0x14, 0xbe, 0x5d, 0xd3, 0x56, 0x3e,
    0x8f, 0x50, 0x5c, 0xbe, 0x64, 0x40, 0xa4, 0x3e, 0xe5, 0x1a, 0x78, 0x3e, 0x88, 0xa6, 0x98, 0xbe,
    0x25, 0x36, 0xb4, 0xbd, 0x67, 0xb0, 0x82, 0x3c, 0x8f, 0x49, 0x53, 0x3d, 0x86, 0xbb, 0xab, 0x3d,
    0xff, 0x12, 0x0e, 0x3e, 0x4a, 0x7d, 0xad, 0x3c, 0x2a, 0xa6, 0x30, 0xbe, 0x0e, 0x50, 0x2b, 0x3e,
    0x81, 0xa4, 0xad, 0xbe, 0x2e, 0x95, 0x56, 0xbe, 0x18, 0x42, 0xb5, 0xbd, 0x97, 0x5a, 0x30, 0xbe,
    0x71, 0x4e, 0xfd, 0xbd, 0x0c, 0x5e, 0x94, 0xbe, 0xb0, 0x05, 0x9a, 0xbd, 0xb5, 0xc6, 0x9a, 0x3d,
    0x16, 0xdb, 0x6b, 0xbe, 0x02, 0xa3, 0x94, 0xbc, 0x35, 0x95, 0x81, 0x3e, 0xe4, 0xde, 0x14, 0xbd,
    0x5d, 0xfd, 0x20, 0x3c, 0x86, 0xdc, 0xf9, 0xbc, 0x2e, 0x8a, 0x92, 0x3d, 0xcf, 0x32, 0x66, 0x3e,
    0x4a, 0x78, 0xab, 0x3e, 0x30, 0xea, 0x65, 0x3e, 0xb9, 0xdc, 0xab, 0x3e, 0x44, 0x77, 0xd1, 0xbc,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

Tensor bools(const std::vector<int64_t>& values, const Shape& sizes) {
  return tensor(std::vector<double>(values.begin(), values.end()), sizes, kFloat64) != 0.0;
}

Tensor causal(int64_t size) {
  return nn::TransformerImpl::generate_square_subsequent_mask(size, kFloat64);
}

nn::TransformerEncoderLayerOptions small_layer() {
  return nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(6);
}

}  // namespace

TEST_CASE("TransformerEncoderLayer matches PyTorch: post-norm, relu, causal and padding masks") {
  nn::TransformerEncoderLayer layer(small_layer());
  fill(layer);
  const Tensor src = ramp({3, 2, 4}, 0.3, 0.1);
  const Tensor out = layer(src, causal(3), bools({0, 0, 1, 0, 0, 0}, {2, 3}));
  CHECK(out.sizes() == Shape{3, 2, 4});
  check_against(*layer, {out}, {src}, kEncoderLayer);
}

TEST_CASE("TransformerEncoderLayer matches PyTorch: pre-norm, gelu, batch_first, bool mask, eps") {
  nn::TransformerEncoderLayer layer(
      small_layer().activation("gelu").layer_norm_eps(1e-3).batch_first(true).norm_first(true));
  fill(layer);
  const Tensor src = ramp({2, 3, 4}, 0.3, 0.1);
  const Tensor blocked = bools({0, 1, 1, 0, 0, 1, 0, 0, 0}, {3, 3});  // upper triangle
  check_against(*layer, {layer(src, blocked)}, {src}, kEncoderLayerPreNorm);
}

TEST_CASE("TransformerDecoderLayer matches PyTorch: post-norm, causal mask, memory padding") {
  nn::TransformerDecoderLayer layer(small_layer());
  fill(layer);
  const Tensor tgt = ramp({3, 2, 4}, 0.3, 0.1), memory = ramp({2, 2, 4}, 0.4, 0.7, true);
  const Tensor out = layer(tgt, memory, causal(3), Tensor(), Tensor(), bools({0, 1, 0, 0}, {2, 2}));
  check_against(*layer, {out}, {tgt, memory}, kDecoderLayer);
}

TEST_CASE("TransformerDecoderLayer matches PyTorch: pre-norm, gelu, batch_first, memory_mask") {
  nn::TransformerDecoderLayer layer(
      small_layer().activation("gelu").batch_first(true).norm_first(true));
  fill(layer);
  const Tensor tgt = ramp({2, 3, 4}, 0.3, 0.1), memory = ramp({2, 2, 4}, 0.4, 0.7, true);
  const Tensor out = layer(tgt, memory, Tensor(), ramp({3, 2}, 0.9, 0.3, true, false));
  check_against(*layer, {out}, {tgt, memory}, kDecoderLayerPreNorm);
}

TEST_CASE("TransformerEncoder and TransformerDecoder match PyTorch: 2 layers and a final norm") {
  nn::TransformerEncoder encoder(
      nn::TransformerEncoderOptions(small_layer(), 2).norm(nn::LayerNorm(Shape{4})));
  fill(encoder);
  const Tensor src = ramp({3, 2, 4}, 0.3, 0.1);
  check_against(*encoder, {encoder(src, Tensor(), bools({0, 0, 1, 0, 0, 0}, {2, 3}))}, {src},
                kEncoderStack);

  nn::TransformerDecoder decoder(
      nn::TransformerDecoderOptions(small_layer(), 2).norm(nn::LayerNorm(Shape{4})));
  fill(decoder);
  const Tensor tgt = ramp({3, 2, 4}, 0.3, 0.1), memory = ramp({2, 2, 4}, 0.4, 0.7, true);
  check_against(*decoder, {decoder(tgt, memory, causal(3))}, {tgt, memory}, kDecoderStack);
}

TEST_CASE("Transformer matches PyTorch: batch_first, causal target mask, padding masks") {
  nn::Transformer transformer(
      nn::TransformerOptions(4, 2, 1, 1).dim_feedforward(6).batch_first(true));
  fill(transformer);
  const Tensor src = ramp({2, 2, 4}, 0.4, 0.7, true), tgt = ramp({2, 3, 4}, 0.3, 0.1);
  const Tensor padding = bools({0, 1, 0, 0}, {2, 2});
  const Tensor out =
      transformer(src, tgt, Tensor(), causal(3), Tensor(), padding, Tensor(), padding);
  CHECK(out.sizes() == Shape{2, 3, 4});
  check_against(*transformer, {out}, {src, tgt}, kTransformer);
}

TEST_CASE("Transformer layers: gradchecks, unbatched inputs, dropout in training") {
  nn::TransformerEncoderLayer encoder_layer(small_layer().activation("gelu").dropout(0.0));
  encoder_layer->to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return encoder_layer(in[0], causal(3)); },
      {test::strided_leaf({3, 2, 4}, 1)}, false);
  nn::TransformerDecoderLayer decoder_layer(small_layer().norm_first(true).dropout(0.0));
  decoder_layer->to(kFloat64);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) { return decoder_layer(in[0], in[1], causal(3)); },
      {test::leaf({3, 2, 4}, 2), test::leaf({5, 2, 4}, 3)}, false);

  // An unbatched sequence [S, E] is the batch of one [S, 1, E].
  const Tensor x = test::leaf({3, 4}, 4).detach(), memory = test::leaf({5, 4}, 5).detach();
  encoder_layer->eval();
  CHECK(allclose(encoder_layer(x, Tensor(), bools({0, 0, 1}, {3})),
                 encoder_layer(x.unsqueeze(1), Tensor(), bools({0, 0, 1}, {1, 3})).squeeze(1)));
  CHECK(allclose(decoder_layer(x, memory),
                 decoder_layer(x.unsqueeze(1), memory.unsqueeze(1)).squeeze(1)));

  // Dropout (0.1 by default) draws anew in training and is off in eval mode.
  nn::TransformerEncoderLayer layer(small_layer());
  const Tensor src = randn({6, 3, 4});
  manual_seed(5);
  const Tensor first = layer(src), second = layer(src);
  CHECK_FALSE(allclose(first, second));
  layer->eval();
  CHECK(allclose(layer(src), layer(src)));
}

TEST_CASE("Transformer: parameter names and shapes are PyTorch's; a stack copies its layer") {
  // [(n, list(p.shape)) for n, p in nn.Transformer(8, 2, 1, 1, 16).named_parameters()]
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"encoder.layers.0.self_attn.in_proj_weight", {24, 8}},
      {"encoder.layers.0.self_attn.in_proj_bias", {24}},
      {"encoder.layers.0.self_attn.out_proj.weight", {8, 8}},
      {"encoder.layers.0.self_attn.out_proj.bias", {8}},
      {"encoder.layers.0.linear1.weight", {16, 8}},
      {"encoder.layers.0.linear1.bias", {16}},
      {"encoder.layers.0.linear2.weight", {8, 16}},
      {"encoder.layers.0.linear2.bias", {8}},
      {"encoder.layers.0.norm1.weight", {8}},
      {"encoder.layers.0.norm1.bias", {8}},
      {"encoder.layers.0.norm2.weight", {8}},
      {"encoder.layers.0.norm2.bias", {8}},
      {"encoder.norm.weight", {8}},
      {"encoder.norm.bias", {8}},
      {"decoder.layers.0.self_attn.in_proj_weight", {24, 8}},
      {"decoder.layers.0.self_attn.in_proj_bias", {24}},
      {"decoder.layers.0.self_attn.out_proj.weight", {8, 8}},
      {"decoder.layers.0.self_attn.out_proj.bias", {8}},
      {"decoder.layers.0.multihead_attn.in_proj_weight", {24, 8}},
      {"decoder.layers.0.multihead_attn.in_proj_bias", {24}},
      {"decoder.layers.0.multihead_attn.out_proj.weight", {8, 8}},
      {"decoder.layers.0.multihead_attn.out_proj.bias", {8}},
      {"decoder.layers.0.linear1.weight", {16, 8}},
      {"decoder.layers.0.linear1.bias", {16}},
      {"decoder.layers.0.linear2.weight", {8, 16}},
      {"decoder.layers.0.linear2.bias", {8}},
      {"decoder.layers.0.norm1.weight", {8}},
      {"decoder.layers.0.norm1.bias", {8}},
      {"decoder.layers.0.norm2.weight", {8}},
      {"decoder.layers.0.norm2.bias", {8}},
      {"decoder.layers.0.norm3.weight", {8}},
      {"decoder.layers.0.norm3.bias", {8}},
      {"decoder.norm.weight", {8}},
      {"decoder.norm.bias", {8}}};
  nn::Transformer transformer(nn::TransformerOptions(8, 2, 1, 1).dim_feedforward(16));
  const auto parameters = transformer->named_parameters();
  REQUIRE(parameters.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(parameters.items()[i].key() == expected[i].first);
    CHECK(parameters.items()[i].value().sizes() == expected[i].second);
  }
  // Transformer draws every matrix from xavier_uniform: linear1.weight [16, 8] within
  // sqrt(6 / 24); the vectors keep their layers' values (biases zero, norms one).
  const double bound = std::sqrt(6.0 / (16 + 8));
  CHECK(parameters["encoder.layers.0.linear1.weight"].abs().max().item<double>() <= bound);
  CHECK(parameters["decoder.norm.weight"].min().item<double>() == 1.0);
  CHECK(parameters["encoder.layers.0.self_attn.in_proj_bias"].abs().max().item<double>() == 0.0);
  // The module tree prints as PyTorch's (names and types).
  std::ostringstream printed;
  printed << *nn::TransformerEncoderLayer(
      nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16));
  CHECK(printed.str() ==
        "TransformerEncoderLayer(\n"
        "  (self_attn): MultiheadAttention(\n"
        "    (out_proj): Linear(in_features=8, out_features=8, bias=true)\n"
        "  )\n"
        "  (linear1): Linear(in_features=8, out_features=16, bias=true)\n"
        "  (dropout): Dropout(p=0.1, inplace=false)\n"
        "  (linear2): Linear(in_features=16, out_features=8, bias=true)\n"
        "  (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=true)\n"
        "  (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=true)\n"
        "  (dropout1): Dropout(p=0.1, inplace=false)\n"
        "  (dropout2): Dropout(p=0.1, inplace=false)\n"
        ")");

  // As PyTorch's deepcopy: the layers of a stack start as copies of the given layer (its values,
  // dtype and mode), and are separate modules.
  nn::TransformerEncoderLayer layer(small_layer());
  layer->to(kFloat64);
  layer->eval();
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(layer, 3));
  CHECK(encoder->layers->size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    auto& copy = encoder->layers->at<nn::TransformerEncoderLayerImpl>(i);
    CHECK(&copy != layer.get());
    CHECK(equal(copy.linear1->weight, layer->linear1->weight));
    CHECK(equal(copy.self_attn->in_proj_weight, layer->self_attn->in_proj_weight));
    CHECK_FALSE(copy.is_training());
  }
  CHECK(encoder->named_parameters().keys().front() == "layers.0.self_attn.in_proj_weight");
  CHECK_FALSE(encoder->norm.ptr());
}

TEST_CASE(
    "a TransformerEncoderLayer loads a safetensors file written by PyTorch and reproduces "
    "its outputs") {
  // With write() and ramp() of test_attention.cpp's MultiheadAttention file:
  // torch.manual_seed(0)
  // layer = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8).eval()
  // write(layer, "encoder_layer.safetensors")   # its bytes are kEncoderLayerFile
  // src = ramp(12, 0.3, 0.1).reshape(3, 1, 4)
  // layer(src)                                   # printed below
  nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(8));
  CHECK(test::load_file_bytes(layer, kEncoderLayerFile, sizeof(kEncoderLayerFile)).at("format") ==
        "pt");
  layer->eval();
  const Tensor src = ((arange(12) * 0.3 + 0.1).cos() * 0.5).reshape({3, 1, 4});
  test::check_close(
      layer(src),
      {1.22149992, 0.510284603, -0.254345059, -1.477439642, 1.359820247, 0.425871909, -0.459749281,
       -1.325942993, 1.441726089, 0.29383108, -0.462204695, -1.273352504},
      1e-5, 1e-6);
}

TEST_CASE("Transformer layers in AnyModule and Sequential; custom encoder; activations") {
  // An encoder layer maps a tensor to a tensor (its masks default to none): it chains.
  nn::Sequential chain(nn::Linear(3, 8), nn::TransformerEncoderLayer(8, 2),
                       nn::TransformerEncoderLayer(8, 2), nn::Linear(8, 1));
  const Tensor x = randn({5, 2, 3});
  CHECK(chain(x).sizes() == Shape{5, 2, 1});
  nn::AnyModule encoder(nn::TransformerEncoder(nn::TransformerEncoderOptions(
      nn::TransformerEncoderLayerOptions(8, 2).dim_feedforward(16), 2)));
  const Tensor src = randn({5, 2, 8});
  CHECK(encoder.forward(src).sizes() == Shape{5, 2, 8});
  CHECK(encoder.forward(src, causal(5).to(kFloat32)).sizes() == Shape{5, 2, 8});
  nn::AnyModule decoder(nn::TransformerDecoderLayer(8, 2));
  CHECK(decoder.forward(randn({4, 2, 8}), src).sizes() == Shape{4, 2, 8});
  nn::AnyModule transformer(
      nn::Transformer(nn::TransformerOptions(8, 2, 1, 1).dim_feedforward(16)));
  CHECK(transformer.forward(src, randn({4, 2, 8})).sizes() == Shape{4, 2, 8});

  // A custom encoder is called with (src, src_mask, src_key_padding_mask).
  struct ScaleImpl : nn::Module {
    Tensor forward(const Tensor& src, const Tensor&, const Tensor&) { return src * 2.0; }
  };
  nn::Transformer custom(nn::TransformerOptions(8, 2, 1, 1)
                             .dim_feedforward(16)
                             .custom_encoder(std::make_shared<ScaleImpl>()));
  CHECK(custom->named_parameters().keys().front() == "decoder.layers.0.self_attn.in_proj_weight");
  CHECK(custom(src, randn({4, 2, 8})).sizes() == Shape{4, 2, 8});

  // The activation: "relu", "gelu" or a function.
  nn::TransformerEncoderLayer tanh_layer(nn::TransformerEncoderLayerOptions(8, 2).activation(
      [](const Tensor& t) { return t.tanh(); }));
  CHECK(tanh_layer->options.activation().name() == "custom");
  CHECK(tanh_layer(src).sizes() == Shape{5, 2, 8});
  check_error({"Transformer", "activation should be \"relu\" or \"gelu\"", "\"swish\""},
              [] { nn::TransformerEncoderLayerOptions(8, 2).activation("swish"); });
}

TEST_CASE("generate_square_subsequent_mask is PyTorch's causal mask") {
  // nn.Transformer.generate_square_subsequent_mask(3)
  const double inf = std::numeric_limits<double>::infinity();
  test::check_close(nn::TransformerImpl::generate_square_subsequent_mask(3),
                    {0, -inf, -inf, 0, 0, -inf, 0, 0, 0}, 0.0);
  CHECK(nn::TransformerImpl::generate_square_subsequent_mask(2, kFloat64).dtype() == kFloat64);
}

TEST_CASE("Transformer errors name the layer and the shapes") {
  check_error({"TransformerEncoderLayer", "d_model 6 must be divisible by nhead 4"},
              [] { nn::TransformerEncoderLayer(6, 4); });
  check_error({"TransformerEncoder", "num_layers must be positive"}, [] {
    nn::TransformerEncoder(
        nn::TransformerEncoderOptions(nn::TransformerEncoderLayerOptions(4, 2), 0));
  });
  nn::TransformerEncoderLayer layer(4, 2);
  check_error({"TransformerEncoderLayer", "expected src [seq, batch, 4]", "float32[3, 2, 5]"}, [&] {
    layer(zeros({3, 2, 5}));
  });
  check_error({"MultiheadAttention", "expected attn_mask [3, 3] or [4, 3, 3]", "float32[2, 2]"},
              [&] {
                layer(zeros({3, 2, 4}), zeros({2, 2}));
              });
  nn::TransformerDecoderLayer decoder_layer(4, 2);
  check_error({"TransformerDecoderLayer", "expected memory", "float32[3, 2]"}, [&] {
    decoder_layer(zeros({3, 2, 4}), zeros({3, 2}));
  });
  nn::Transformer transformer(nn::TransformerOptions(4, 2, 1, 1).dim_feedforward(8));
  check_error({"Transformer", "the batch sizes of src float32[3, 2, 4]", "tgt float32[3, 5, 4]"},
              [&] {
                transformer(zeros({3, 2, 4}), zeros({3, 5, 4}));
              });
  check_error({"Transformer", "must both be batched (3-d) or both unbatched (2-d)"}, [&] {
    transformer(zeros({3, 2, 4}), zeros({3, 4}));
  });
}
